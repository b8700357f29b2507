import DequeModule
import Foundation
import Logging
package import LoomCore
import LoomMemory
package import LuaKit

/// The synchronous heart of a node: its VM, skills, agents, mailboxes, scheduler and timers.
///
/// Owned by one ``Node`` actor and only ever used on it; the host functions it gives to Lua call
/// back into it synchronously during a resume. Nothing here awaits.
///
/// A coordinator: each agent's lifecycle is an ``AgentLifecycle`` value whose transitions say what
/// to do, and the engine does it. Its jobs are in files of their own:
/// - `NodeEngine+HostFunctions.swift`: the host API given to Lua (`send`, `use`, `log`, ...);
/// - `NodeEngine+Skills.swift`: loading the resolved skills, layer on layer;
/// - `NodeEngine+Agents.swift`: agents' slots, environments, activation and passivation;
/// - `NodeEngine+Mail.swift`: where an envelope goes, and delivery from the mail (C);
/// - `NodeEngine+Asks.swift`: what a handler's yield asks for (`ask`, `ask_all`, `sleep`), replies;
/// - `NodeEngine+Scheduler.swift`: the run queue and one step of an agent;
/// - `NodeEngine+Batches.swift`: batched delivery of sends from C;
/// - `NodeEngine+Timers.swift`: ask timeouts, sleeps and restart delays;
/// - `NodeEngine+GroupCommit.swift`: a step's memories committed before its replies leave;
/// - `NodeEngine+Supervision.swift`: what a failure does (restart with backoff, stop);
/// - `NodeEngine+Persistence.swift`: saving state, passivating idle agents, shutting down;
/// - `HotReload.swift`: reloads under the rule of two versions.
package final class NodeEngine {
    let name: String
    let directory: String
    let options: NodeOptions
    package let lua: LuaState
    let store: any NodeStore
    var logger: Logger
    var resolution: Resolution
    /// What the loaded skills were built from: capability keys, layers and their content hashes.
    /// A reload loads skills again only when this changes.
    var skillFingerprint = ""
    /// Each agent kind's behaviour source and code version (1 at the first load, +1 per reload
    /// that changes the kind's behaviour or the skills).
    var behaviourSources: [String: [UInt8]] = [:]
    var versions: [String: Int] = [:]
    let clock = ContinuousClock()

    /// Capability key -> the module of the skill serving it (its top layer).
    var modules: [String: LuaRef] = [:]
    /// Host capability tables by key (log@1, clock@1, messaging@1).
    var hostTables: [String: LuaRef] = [:]
    package var agents: [String: AgentSlot] = [:]
    var agentOrder: [String] = []
    /// Agent kinds by name: `kind` addresses the kind's own instance, `kind:id` another instance of
    /// it, created on its first message (virtual actors).
    package var kinds: [String: AgentManifest] = [:]
    /// Extra globals for agents made by the host (the test runner's traceback function).
    var extraGlobals: [String: [String: LuaRef]] = [:]

    // Scheduling
    var runQueue = RunQueue<AgentSlot>()
    var timers = TimerHeap<Timer.Action>()
    /// Asks' timeouts (see ``AskDeadlines``).
    var askDeadlines = AskDeadlines()
    /// When the current (or last) ``step(budget:)`` began.
    var stepStarted = ContinuousClock.now
    var pending = PendingAsks()
    /// Messages for other nodes, delivered by the actor after each step.
    var outbound: [Envelope] = []
    /// What the current step holds back until its memories are committed (group commit).
    var held = HeldOutput()
    /// The agent whose code runs now (host functions act for it). Kept in the mail (C) so that
    /// `send` knows its sender without asking Swift; slots without a number (trial runs during a
    /// reload) are kept here.
    var current: AgentSlot? {
        get {
            let id = Int(mail.current)
            return id > 0 ? (id < slotsByID.count ? slotsByID[id] : nil) : unnumberedCurrent
        }
        set {
            mail.current = newValue?.id ?? 0
            unnumberedCurrent = newValue?.id == 0 ? newValue : nil
        }
    }
    private var unnumberedCurrent: AgentSlot?
    /// Messages between this node's agents, kept in the VM (see `LuaMail`).
    let mail: LuaMail
    /// Slots by number (index 0 unused; removed slots leave nil).
    var slotsByID: [AgentSlot?] = [nil]

    // Shared host functions
    var api: [String: LuaRef] = [:]
    var logTable: LuaRef?
    /// The names of every host function this node made (`send`, `memory.recall`, ...), for the
    /// check that ``HostAPI`` documents each one.
    var hostFunctionNames: Set<String> = ["ask", "ask_all", "sleep"]
    /// Compiled behaviours by agent kind.
    var behaviours: [String: LuaRef] = [:]
    /// Finished coroutines kept for reuse.
    var coroutinePool = CoroutinePool()
    /// What batched delivery reuses from batch to batch.
    var batch = BatchBuffers()
    /// Messages delivered through batches so far (for tests and measurements).
    var batchedMessages = 0
    /// Calls started so far: each call's number (``AgentLifecycle/Call/number``).
    var callsStarted: UInt64 = 0

    init(lineage: Lineage, resolution: Resolution, options: NodeOptions, store: any NodeStore, logger: Logger) throws {
        let root = lineage.root
        name = root.name
        directory = root.manifest.directory
        self.options = options
        self.resolution = resolution
        self.store = store
        self.logger = logger
        self.logger[metadataKey: "node"] = .string(root.name)
        lua = try LuaState(limits: options.limits)
        mail = try LuaMail(lua, node: root.name, capacity: options.mailboxCapacity)
        try makeHostAPI()
        modules = try loadModules(resolution)
        skillFingerprint = Self.fingerprint(resolution)
        let statuses = (try? store.statuses()) ?? [:]
        for manifest in root.agents {
            kinds[manifest.name] = manifest
            versions[manifest.name] = 1
            // What a reload compares against (compiled on first activation).
            behaviourSources[manifest.name] = FileManager.default.contents(
                atPath: Paths.join(manifest.directory, manifest.behaviour)).map(Array.init)
            let slot = makeSlot(manifest, name: manifest.name)
            if statuses[manifest.name] == "failed" { slot.lifecycle = AgentLifecycle(.failed(.stopped)) }
            agents[manifest.name] = slot
            agentOrder.append(manifest.name)
        }
    }

    var currentAddress: Address { Address(node: name, agent: current?.name ?? "$host") }

    func address(_ text: String) throws(LuaError) -> Address {
        guard let a = Address(text, localNode: name) else {
            throw LuaError(kind: .runtime, message: "'\(text)' is not an address (agent or node/agent)")
        }
        return a
    }

    func statuses() -> [AgentStatus] {
        agentOrder.compactMap { agents[$0] }.map {
            AgentStatus(name: $0.name, state: $0.lifecycle.status, mailbox: $0.mailbox.count, restarts: $0.totalRestarts)
        }
    }
}
