import DequeModule
package import LuaKit
import LoomCore

/// One agent of a node: its lifecycle (``AgentLifecycle``), its environment when active, its
/// mailbox on the host's side, and the call in flight.
package final class AgentSlot {
    /// The kind's manifest (replaced when a reload changes it).
    var manifest: AgentManifest
    /// The instance name: the kind's name, or `kind:id`.
    let name: String
    /// Its number in the node's mail (0: a slot outside it, for a trial run).
    let id: Int32
    /// Unowned: the engine owns the mail and every slot, and a slot never outlives its engine.
    private unowned let mail: LuaMail?

    /// Where the agent is in its life. Every change reaches the mail through ``syncMail(wasOpen:)``:
    /// the one place where Swift's view of the agent is written into C.
    var lifecycle = AgentLifecycle() {
        didSet { syncMail(wasOpen: oldValue.isOpen) }
    }

    /// The environment while active, and the handlers read from it (see ``install(_:version:)``).
    package private(set) var env: LuaRef?
    private(set) var onTask: LuaRef?
    package private(set) var onMessage: LuaRef?
    /// The code version its environment runs (see ``NodeEngine/versions``).
    private(set) var envVersion = 1

    var mailbox = Deque<Envelope>() {
        didSet {
            // What waits on the host's side counts against the capacity in C, and goes first.
            if id > 0, let mail {
                mail.clearReady(id)
                mail.setBacklog(id, mailbox.count)
            }
        }
    }
    /// The handler in flight (with ``AgentLifecycle/hasCallInFlight``) and the message it handles.
    var coroutine: LuaCoroutine?
    var runningEnvelope: Envelope?
    /// The replies an `ask_all` in flight still waits for.
    var group: Group?
    var lastActive = ContinuousClock.now
    var restarts: [ContinuousClock.Instant] = []
    var totalRestarts = 0
    var dirty = false
    /// Whether the slot is in the run queue.
    var queued = false

    struct Group {
        var results: LuaTable
        var remaining: Int
        var ids: [UInt64]
    }

    init(manifest: AgentManifest, name: String, id: Int32 = 0, mail: LuaMail? = nil) {
        self.manifest = manifest
        self.name = name
        self.id = id
        self.mail = mail
    }

    /// Sets the environment and reads its handlers. The mail is told the agent is not ready (its
    /// handler may have changed); the engine says when it is again (``NodeEngine/refreshReady(_:)``).
    func install(_ env: LuaRef, version: Int) throws(LuaError) {
        self.env = env
        envVersion = version
        mail?.clearReadyIfNumbered(id)
        onTask = try env.rawRef("on_task").flatMap { $0.type == .function ? $0 : nil }
        onMessage = try env.rawRef("on_message").flatMap { $0.type == .function ? $0 : nil }
        mail?.clearReadyIfNumbered(id)
    }

    /// Lets go of the environment, its handlers and any call in flight.
    func releaseEnvironment() {
        env = nil
        onTask = nil
        onMessage = nil
        coroutine = nil
        mail?.clearReadyIfNumbered(id)
    }

    /// Active and idle: a handler may start on it now. C delivery (the mail, batches) runs only such agents.
    @inline(__always)
    var canStartMessage: Bool { lifecycle.canStartMessage && env != nil }

    /// Whether sends may queue for it in the mail.
    var isOpen: Bool { lifecycle.isOpen }

    @inline(__always)
    var isRunnable: Bool { lifecycle.isRunnable(hasMail: !mailbox.isEmpty) }

    /// Tells the mail what changed: whether sends may queue for the agent (when that changed), and
    /// that it is not ready for delivery from C until the engine says so again.
    private func syncMail(wasOpen: Bool) {
        guard id > 0, let mail else { return }
        let open = lifecycle.isOpen
        if open != wasOpen {
            mail.setFlags(id, open: open, readyWith: nil)
        } else {
            mail.clearReady(id)
        }
    }
}

extension LuaMail {
    @inline(__always)
    fileprivate func clearReadyIfNumbered(_ slot: Int32) {
        if slot > 0 { clearReady(slot) }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
