import LuaKit

/// An agent's lifecycle as one value, and the transitions between its states.
///
/// A plain value with no VM in it: each transition changes the state and returns what the caller
/// (``NodeEngine``) must do, in the style of swift-nio's state machines. Transitions that make no
/// sense in the current state leave it as it is and return the "nothing to do" action; the tests
/// of ``AgentLifecycleTests`` drive every one.
///
/// The transitions (each a method below; docs/DESIGN.md draws them):
/// - dormant → idle: ``activated()``; idle → dormant: ``passivated()`` (idle too long);
/// - idle → running: ``callStarted(number:)``; running → waiting: ``waitStarted()`` (ask, ask_all, sleep);
/// - waiting or running → resumable: ``woken(with:)``, ``sleepEnded(call:)``; resumable → running:
///   ``nextStep(hasMail:)``;
/// - a call in flight → idle: ``callReturned()``, ``callStopped()``, ``callFailed(_:)`` with
///   ``Restart/none``; → backing off: ``callFailed(_:)`` with ``Restart/later``; → failed:
///   ``callFailed(_:)`` with ``Restart/never``;
/// - backing off → dormant: ``backoffEnded()``;
/// - a reload: ``reloaded(callIsStale:)`` (an upgrade now, deferred to the end of the call, or the
///   call stopped); a removal: ``removed()`` (now, or deferred: the agent is *retiring*) then
///   ``retired()``.
///
/// What the old flags were: `state` (dormant, active, failed) is ``status``; `running != nil` is
/// ``hasCallInFlight``; `waiting`, `resumeWith` and `awaitsOtherNode` are the ``State/waiting(_:)``
/// and ``State/resumable(_:with:)`` cases and ``Call/awaitsOtherNode``; `backoffUntil` is
/// ``State/backingOff``; `upgradePending` and `retiring` are a call's ``Call/then``.
struct AgentLifecycle: Equatable {
    enum State: Equatable {
        /// No environment: activates on its next message.
        case dormant
        /// Restarted after a crash: dormant, and nothing runs it until the delay passes (a
        /// `retry` timer holds when). No payload of a resilient type such as
        /// `ContinuousClock.Instant` here: it would make every copy and switch of the state go
        /// through the runtime's value witnesses (measured: +5 µs per ask round trip).
        case backingOff
        /// Active, no handler in flight: a message may start now.
        case idle
        /// Its handler runs now (inside a resume).
        case running(Call)
        /// Its handler is suspended in `ask`, `ask_all` or `sleep`.
        case waiting(Call)
        /// Its handler's wait is over: it resumes with these values on its next step.
        case resumable(Call, with: [LuaValue])
        /// Nothing runs it again: stopped after too many restarts, or removed by a reload.
        case failed(Failure)
    }

    /// A handler in flight.
    struct Call: Equatable {
        /// The node's number for this call (``NodeEngine/callsStarted``): a timer set by one call
        /// (a sleep's end) never wakes a later one.
        var number: UInt64 = 0
        /// Whether it waits on an ask to another node (whose reply may come at any time).
        var awaitsOtherNode = false
        /// What happens when the call ends.
        var then: FollowUp = .nothing
    }

    /// What to do once the call in flight ends.
    enum FollowUp: Equatable {
        case nothing
        /// A reload arrived while the call was in flight: move to the new code.
        case upgrade
        /// The agent's kind was removed by a reload: stop the agent. Wins over an upgrade.
        case retire
    }

    enum Failure: Equatable {
        /// Too many restarts within the restart window.
        case stopped
        /// Its kind was removed from the node.
        case removed
    }

    private(set) var state: State

    init(_ state: State = .dormant) { self.state = state }

    // MARK: Queries

    /// What `loom agents` shows.
    var status: AgentStatus.State {
        switch state {
        case .dormant, .backingOff: .dormant
        case .idle, .running, .waiting, .resumable: .active
        case .failed: .failed
        }
    }

    /// Active with no handler in flight: a message may start now (C delivery runs only such agents).
    var canStartMessage: Bool {
        if case .idle = state { return true }
        return false
    }

    var hasCallInFlight: Bool { call != nil }

    /// The call in flight, if any.
    var call: Call? {
        switch state {
        case .running(let c), .waiting(let c), .resumable(let c, _): c
        case .dormant, .backingOff, .idle, .failed: nil
        }
    }

    var isWaiting: Bool {
        if case .waiting = state { return true }
        return false
    }

    /// Its kind was removed while a call was in flight: it stops when the call ends.
    var isRetiring: Bool { call?.then == .retire }

    var isFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    /// Whether sends may queue for it in the mail: a stopped agent's, or one about to be removed,
    /// take the host's path, which answers with the error.
    var isOpen: Bool {
        switch state {
        case .failed: false
        case .running(let c), .waiting(let c), .resumable(let c, _): c.then != .retire
        case .dormant, .backingOff, .idle: true
        }
    }

    /// Whether a step of the agent would do something, given whether messages wait for it.
    func isRunnable(hasMail: Bool) -> Bool {
        switch state {
        case .resumable: true
        case .dormant, .idle: hasMail
        case .backingOff, .running, .waiting, .failed: false
        }
    }

    // MARK: Transitions

    /// What one step of the agent does.
    enum Step: Equatable {
        case nothing
        /// Resume the handler in flight with these values (the state is ``State/running(_:)`` now).
        case resume(with: [LuaValue])
        /// Take the next message; activate the agent first when it is dormant.
        case startMessage(activateFirst: Bool)
    }

    /// The scheduler gives the agent a step.
    mutating func nextStep(hasMail: Bool) -> Step {
        switch state {
        case .resumable(let call, let values):
            state = .running(call)
            return .resume(with: values)
        case .idle: return hasMail ? .startMessage(activateFirst: false) : .nothing
        case .dormant: return hasMail ? .startMessage(activateFirst: true) : .nothing
        case .backingOff, .running, .waiting, .failed: return .nothing
        }
    }

    /// Its environment was made and its handlers read.
    mutating func activated() {
        if case .dormant = state { state = .idle }
    }

    /// Its environment was released. An agent backing off or failed stays so.
    mutating func passivated() {
        switch state {
        case .idle, .running, .waiting, .resumable: state = .dormant
        case .dormant, .backingOff, .failed: break
        }
    }

    /// A handler started on a message (run by the host, or taken over from C after it yielded or
    /// failed there).
    mutating func callStarted(number: UInt64) {
        switch state {
        case .idle, .dormant: state = .running(Call(number: number))
        case .running, .waiting, .resumable, .backingOff, .failed: break
        }
    }

    /// The running handler suspended in `ask`, `ask_all` or `sleep`.
    mutating func waitStarted() {
        if case .running(let call) = state { state = .waiting(call) }
    }

    /// The waiting handler asked another node: a reply may come at any time.
    mutating func awaitsOtherNode() {
        if case .waiting(var call) = state {
            call.awaitsOtherNode = true
            state = .waiting(call)
        }
    }

    enum Wake: Equatable {
        /// Queue the agent: it resumes on its next step.
        case schedule
        /// No handler in flight to wake.
        case ignore
    }

    /// Its handler's wait is over (a reply, a timeout, a sleep's end), or a yield is answered at
    /// once (a malformed ask).
    mutating func woken(with values: [LuaValue]) -> Wake {
        switch state {
        case .running(var call), .waiting(var call), .resumable(var call, _):
            call.awaitsOtherNode = false
            state = .resumable(call, with: values)
            return .schedule
        case .dormant, .backingOff, .idle, .failed:
            return .ignore
        }
    }

    /// A sleep's timer is due: only the call that slept is woken, if it still waits (a call stopped
    /// by a reload leaves its timer behind; the agent's next call must not wake early).
    mutating func sleepEnded(call number: UInt64) -> Wake {
        guard case .waiting(let call) = state, call.number == number else { return .ignore }
        return woken(with: [])
    }

    /// The handler returned. Returns what was deferred to the end of the call.
    mutating func callReturned() -> FollowUp {
        guard let call else { return .nothing }
        state = .idle
        return call.then
    }

    /// How supervision answers a failure.
    enum Restart: Equatable {
        /// A budget breach (time, instructions, memory): only the message fails, the agent stays.
        case none
        /// A crash: restart from its persisted state when the delay passes.
        case later
        /// Too many restarts: stop the agent.
        case never
    }

    /// A handler failed (or the agent failed to activate). The environment is released by the
    /// caller for a restart (``passivated()`` is implied here). Returns what was deferred to the
    /// end of the call.
    mutating func callFailed(_ restart: Restart) -> FollowUp {
        if case .failed = state { return .nothing }
        let then = call?.then ?? .nothing
        switch restart {
        case .none: if call != nil { state = .idle }
        case .later: state = .backingOff
        case .never: state = .failed(.stopped)
        }
        return then
    }

    /// The call in flight was dropped (the rule of two versions): the agent is idle, on its old code.
    mutating func callStopped() {
        if call != nil { state = .idle }
    }

    /// A restart's delay passed.
    mutating func backoffEnded() {
        if case .backingOff = state { state = .dormant }
    }

    enum Reload: Equatable {
        /// Dormant, backing off or failed: it activates on the new code, or never runs again.
        case nothing
        /// Idle: move to the new code now.
        case upgradeNow
        /// A call is in flight: it finishes on its code, then the agent upgrades (or retires).
        case deferred
        /// A call is in flight on the version before the previous one: stop it, then upgrade.
        case stopCallThenUpgrade
    }

    /// A reload changed the agent's kind. `callIsStale`: the call in flight (if any) runs code two
    /// versions old.
    mutating func reloaded(callIsStale: Bool) -> Reload {
        switch state {
        case .dormant, .backingOff, .failed: return .nothing
        case .idle: return .upgradeNow
        case .running(var call), .waiting(var call), .resumable(var call, _):
            if callIsStale { return .stopCallThenUpgrade }
            if call.then == .nothing { call.then = .upgrade }
            replaceCall(call)
            return .deferred
        }
    }

    enum Removal: Equatable {
        /// Stop it now (answer its queue, save its state, ``retired()``).
        case retireNow
        /// After its call in flight.
        case deferred
    }

    /// A reload removed the agent's kind.
    mutating func removed() -> Removal {
        guard var call else { return .retireNow }
        call.then = .retire
        replaceCall(call)
        return .deferred
    }

    /// The agent was taken out of the node: nothing runs it again.
    mutating func retired() {
        state = .failed(.removed)
    }

    private mutating func replaceCall(_ call: Call) {
        switch state {
        case .running: state = .running(call)
        case .waiting: state = .waiting(call)
        case .resumable(_, let values): state = .resumable(call, with: values)
        case .dormant, .backingOff, .idle, .failed: break
        }
    }
}
