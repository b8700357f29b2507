@testable import LoomRuntime
import LuaKit
import Testing

/// The agent's state machine as a plain value: no VM, no node.
@Suite("Agent lifecycle")
struct AgentLifecycleTests {
    typealias L = AgentLifecycle

    /// A lifecycle with a call in flight, in the given phase.
    static func inCall(_ phase: (inout L) -> Void = { _ in }) -> L {
        var l = L(.idle)
        l.callStarted(number: 1)
        phase(&l)
        return l
    }

    @Test("a message to a dormant agent activates it; one to an idle agent starts at once")
    func startingMessages() {
        var l = L()
        #expect(l.state == .dormant && l.status == .dormant)
        #expect(l.nextStep(hasMail: false) == .nothing)
        #expect(l.nextStep(hasMail: true) == .startMessage(activateFirst: true))
        l.activated()
        #expect(l.state == .idle && l.status == .active && l.canStartMessage)
        #expect(l.nextStep(hasMail: true) == .startMessage(activateFirst: false))
        #expect(l.isRunnable(hasMail: true) && !l.isRunnable(hasMail: false))
        l.callStarted(number: 1)
        #expect(l.state == .running(L.Call(number: 1)) && !l.canStartMessage && l.hasCallInFlight)
        #expect(l.callReturned() == .nothing)
        #expect(l.state == .idle)
        l.passivated()
        #expect(l.state == .dormant)
    }

    @Test("ask: running, waiting, woken by the reply, resumed on the next step")
    func askAndReply() {
        var l = Self.inCall()
        l.waitStarted()
        #expect(l.isWaiting && l.status == .active)
        #expect(!l.isRunnable(hasMail: true))
        #expect(l.nextStep(hasMail: true) == .nothing)   // messages wait behind the call
        l.awaitsOtherNode()
        #expect(l.call?.awaitsOtherNode == true)
        #expect(l.woken(with: [.integer(42)]) == .schedule)
        #expect(l.state == .resumable(L.Call(number: 1, awaitsOtherNode: false), with: [.integer(42)]))
        #expect(l.isRunnable(hasMail: false))
        #expect(l.nextStep(hasMail: true) == .resume(with: [.integer(42)]))
        #expect(l.state == .running(L.Call(number: 1)))
        #expect(l.callReturned() == .nothing)
        #expect(l.canStartMessage)
    }

    @Test("a malformed ask is answered at once: the running handler is woken without waiting")
    func wokenWhileRunning() {
        var l = Self.inCall()
        #expect(l.woken(with: [.nil, "bad address"]) == .schedule)
        #expect(l.nextStep(hasMail: false) == .resume(with: [.nil, "bad address"]))
    }

    @Test("a sleep's end wakes only a waiting handler; a wake without a call is ignored")
    func oddWakes() {
        var running = Self.inCall()
        #expect(running.sleepEnded(call: 1) == .ignore)
        #expect(running.state == .running(L.Call(number: 1)))
        var sleeping = Self.inCall { $0.waitStarted() }
        // The timer of an earlier call (stopped by a reload) does not wake this one.
        #expect(sleeping.sleepEnded(call: 0) == .ignore)
        #expect(sleeping.state == .waiting(L.Call(number: 1)))
        #expect(sleeping.sleepEnded(call: 1) == .schedule)
        #expect(sleeping.nextStep(hasMail: false) == .resume(with: []))
        for state in [L.State.dormant, .idle, .backingOff, .failed(.stopped)] {
            var l = L(state)
            #expect(l.woken(with: [1]) == .ignore)
            #expect(l.sleepEnded(call: 1) == .ignore)
            #expect(l.state == state)
        }
    }

    @Test("a crash restarts with backoff; too many stop the agent; a budget breach fails only the message")
    func failures() {
        var crashed = Self.inCall()
        #expect(crashed.callFailed(.later) == .nothing)
        #expect(crashed.state == .backingOff && crashed.status == .dormant)
        #expect(crashed.nextStep(hasMail: true) == .nothing)   // nothing runs it during the delay
        #expect(!crashed.isRunnable(hasMail: true) && crashed.isOpen)
        crashed.passivated()   // the caller releases its environment: it stays backing off
        #expect(crashed.state == .backingOff)
        crashed.backoffEnded()
        #expect(crashed.state == .dormant)
        #expect(crashed.nextStep(hasMail: true) == .startMessage(activateFirst: true))

        var stopped = Self.inCall()
        #expect(stopped.callFailed(.never) == .nothing)
        #expect(stopped.state == .failed(.stopped) && stopped.status == .failed && !stopped.isOpen)
        #expect(stopped.nextStep(hasMail: true) == .nothing)
        stopped.backoffEnded()   // a stale restart timer
        stopped.activated()
        stopped.callStarted(number: 2)
        #expect(stopped.state == .failed(.stopped))

        var overBudget = Self.inCall()
        #expect(overBudget.callFailed(.none) == .nothing)
        #expect(overBudget.state == .idle)

        // An agent that fails to activate has no call: a budget breach leaves it as it was.
        var starting = L()
        #expect(starting.callFailed(.none) == .nothing)
        #expect(starting.state == .dormant)
        #expect(starting.callFailed(.later) == .nothing)
        #expect(starting.state == .backingOff)
    }

    @Test("a failure while waiting still reports what the call deferred")
    func failureWhileWaiting() {
        var l = Self.inCall { $0.waitStarted() }
        #expect(l.reloaded(callIsStale: false) == .deferred)
        #expect(l.callFailed(.later) == .upgrade)
        #expect(l.state == .backingOff)
        // A failed agent fails no further.
        var failed = L(.failed(.removed))
        #expect(failed.callFailed(.never) == .nothing)
        #expect(failed.state == .failed(.removed))
    }

    @Test("reload: idle upgrades now, a call in flight defers, a stale call is stopped, dormant waits")
    func reloads() {
        var idle = L(.idle)
        #expect(idle.reloaded(callIsStale: false) == .upgradeNow)
        #expect(idle.state == .idle)

        var running = Self.inCall()
        #expect(running.reloaded(callIsStale: false) == .deferred)
        #expect(running.state == .running(L.Call(number: 1, then: .upgrade)))
        #expect(running.isOpen)
        #expect(running.callReturned() == .upgrade)
        #expect(running.state == .idle)

        var stale = Self.inCall { $0.waitStarted() }
        #expect(stale.reloaded(callIsStale: true) == .stopCallThenUpgrade)
        #expect(stale.isWaiting)   // the engine stops the call
        stale.callStopped()
        #expect(stale.state == .idle)

        for state in [L.State.dormant, .backingOff, .failed(.stopped)] {
            var l = L(state)
            #expect(l.reloaded(callIsStale: true) == .nothing)
            #expect(l.state == state)
        }
    }

    @Test("a resumable call keeps its values when a reload defers an upgrade")
    func reloadWhileResumable() {
        var l = Self.inCall { $0.waitStarted() }
        _ = l.woken(with: ["reply"])
        #expect(l.reloaded(callIsStale: false) == .deferred)
        #expect(l.state == .resumable(L.Call(number: 1, then: .upgrade), with: ["reply"]))
    }

    @Test("removal: idle retires now; a call in flight retires after it, closed to new mail")
    func removal() {
        var idle = L(.idle)
        #expect(idle.removed() == .retireNow)
        idle.retired()
        #expect(idle.state == .failed(.removed) && idle.status == .failed)

        var waiting = Self.inCall { $0.waitStarted() }
        #expect(waiting.isOpen)
        #expect(waiting.removed() == .deferred)
        #expect(waiting.isRetiring)
        #expect(!waiting.isOpen)   // sends take the host's path, which answers with the error
        #expect(waiting.isWaiting)
        // A reload while retiring does not turn the retirement into an upgrade.
        #expect(waiting.reloaded(callIsStale: false) == .deferred)
        #expect(waiting.woken(with: []) == .schedule)
        #expect(waiting.nextStep(hasMail: true) == .resume(with: []))
        #expect(waiting.callReturned() == .retire)
        #expect(waiting.removed() == .retireNow)

        // A crash of a retiring call still retires it.
        var crashing = Self.inCall()
        _ = crashing.removed()
        #expect(crashing.callFailed(.later) == .retire)
    }

    @Test("a message arriving while the agent retires or fails does not start it")
    func messagesWhileRetiring() {
        var retiring = Self.inCall { $0.waitStarted() }
        _ = retiring.removed()
        #expect(retiring.nextStep(hasMail: true) == .nothing)
        #expect(!retiring.isRunnable(hasMail: true))
        #expect(!retiring.canStartMessage)
        retiring.callStarted(number: 9)   // odd: a second call cannot start over the one in flight
        #expect(retiring.isWaiting && !retiring.isOpen)

        var failed = L(.failed(.stopped))
        #expect(failed.nextStep(hasMail: true) == .nothing)
        #expect(!failed.isRunnable(hasMail: true))
    }

    @Test("odd transitions leave the state as it is")
    func oddTransitions() {
        var idle = L(.idle)
        #expect(idle.callReturned() == .nothing)
        idle.waitStarted()
        idle.awaitsOtherNode()
        idle.callStopped()
        idle.backoffEnded()
        #expect(idle.state == .idle)
        var waiting = Self.inCall { $0.waitStarted() }
        waiting.activated()
        waiting.waitStarted()
        #expect(waiting.isWaiting)
        var dormant = L()
        #expect(dormant.removed() == .retireNow)
        dormant.awaitsOtherNode()
        #expect(dormant.state == .dormant)
    }
}

@Suite("Run queue and pending asks")
struct SchedulingTypesTests {
    @Test("the run queue is first in, first out, and gives back its space")
    func runQueue() {
        var q = RunQueue<Int>()
        #expect(q.isEmpty && q.popFirst() == nil)
        for i in 0..<10 { q.append(i) }
        #expect(q.count == 10 && q.element(at: 0) == 0 && q.element(at: 9) == 9 && q.element(at: 10) == nil)
        #expect(q.popFirst() == 0)
        q.removeFirst(3)
        #expect(q.popFirst() == 4 && q.count == 5)
        q.compactIfDrained()
        #expect(q.storageCount == 10)   // not drained: kept
        while q.popFirst() != nil {}
        q.compactIfDrained()
        #expect(q.isEmpty && q.storageCount == 0)

        // Past the threshold and half of the array, the space behind the head is given back.
        let n = RunQueue<Int>.compactionThreshold * 4
        for i in 0..<n { q.append(i) }
        for i in 0..<(n / 2) { #expect(q.popFirst() == i) }
        #expect(q.storageCount == n)   // past the threshold, but not past half
        #expect(q.popFirst() == n / 2)
        #expect(q.storageCount == n / 2 - 1)
        #expect(q.element(at: 0) == n / 2 + 1 && q.count == n / 2 - 1)
        q.removeFirst(.max / 2)
        #expect(q.isEmpty)
    }

    @Test("pending asks are numbered, taken once, and dropped by agent")
    func pendingAsks() {
        var p = PendingAsks()
        let a = p.add(.agent("a"))
        let b = p.add(.group("b", 0))
        let c = p.add(.group("b", 1))
        let d = p.add(.agent("d"))
        #expect([a, b, c, d] == [1, 2, 3, 4])
        #expect(p.contains(a) && p.count == 4)
        if case .agent("a") = p.remove(a) {} else { Issue.record("expected a's ask") }
        #expect(p.remove(a) == nil)   // a second reply (after a timeout) finds nobody
        p.removeAll(of: "b")
        #expect(!p.contains(b) && !p.contains(c) && p.contains(d))
        p.remove([d])
        #expect(p.count == 0)
        #expect(p.add(.agent("e")) == 5)
        #expect(p.removeAll().count == 1 && p.count == 0)
    }
}
