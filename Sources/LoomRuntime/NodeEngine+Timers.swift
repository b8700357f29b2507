import DequeModule
import Foundation

/// Timers: asks' timeouts, sleeps' ends and restarts' delays, in a ``TimerHeap``.
extension NodeEngine {
    struct Timer {
        enum Action {
            case askTimeout(UInt64)
            case wake(String)
            case retry(String)
        }
        var deadline: ContinuousClock.Instant
        var action: Action
    }

    func addTimer(_ timer: Timer) {
        timers.insert(timer.deadline, timer.action)
    }

    var nextDeadline: ContinuousClock.Instant? { timers.first?.deadline }

    /// Acts on every timer that is due.
    func fireTimers() {
        let now = clock.now
        while let t = timers.first, t.deadline <= now {
            _ = timers.popFirst()
            switch t.action {
            case .askTimeout(let id):
                if pending.contains(id) { deliverReply(id: id, result: .failure(ReplyError(.timeout, "timeout"))) }
            case .wake(let name):
                if let slot = agents[name], slot.lifecycle.sleepEnded() == .schedule { schedule(slot) }
            case .retry(let name):
                if let slot = agents[name] {
                    slot.lifecycle.backoffEnded()
                    if !slot.mailbox.isEmpty { schedule(slot) }
                }
            }
        }
    }
}
