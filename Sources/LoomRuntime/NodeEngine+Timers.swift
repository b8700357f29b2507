import DequeModule
import Foundation

/// Timers: sleeps' ends and restarts' delays in a ``TimerHeap``, asks' timeouts in
/// ``AskDeadlines``.
extension NodeEngine {
    struct Timer {
        enum Action {
            /// A sleep's end, for the call with this number.
            case wake(String, call: UInt64)
            case retry(String)
        }
        var deadline: ContinuousClock.Instant
        var action: Action
    }

    func addTimer(_ timer: Timer) {
        timers.insert(timer.deadline, timer.action)
    }

    /// An ask's timeout (see ``AskDeadlines``).
    func addAskTimeout(_ id: UInt64, after timeout: Duration) {
        askDeadlines.add(id, timeout: timeout, now: clock.now)
    }

    /// Forgets the timeouts of answered asks at the front of their lanes.
    @inline(__always)
    func trimAskTimeouts() {
        askDeadlines.trim { pending.contains($0) }
    }

    var nextDeadline: ContinuousClock.Instant? {
        guard let ask = askDeadlines.next else { return timers.first?.deadline }
        guard let other = timers.first?.deadline else { return ask }
        return min(ask, other)
    }

    /// Acts on every timer due when the step began.
    func fireTimers() {
        let now = stepStarted
        for id in askDeadlines.popDue(now) where pending.contains(id) {
            deliverReply(id: id, result: .failure(ReplyError(.timeout, "timeout")))
        }
        while let t = timers.first, t.deadline <= now {
            _ = timers.popFirst()
            switch t.action {
            case .wake(let name, let call):
                if let slot = agents[name], slot.lifecycle.sleepEnded(call: call) == .schedule { schedule(slot) }
            case .retry(let name):
                if let slot = agents[name] {
                    slot.lifecycle.backoffEnded()
                    if !slot.mailbox.isEmpty { schedule(slot) }
                }
            }
        }
    }
}
