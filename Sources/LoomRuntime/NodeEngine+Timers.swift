import DequeModule
import Foundation

/// Timers: asks' timeouts, sleeps' ends and restarts' delays, in a ``TimerHeap``; asks' timeouts
/// that come in order in a queue of their own.
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

    /// An ask's timeout. Asks mostly share one timeout, so their deadlines come in order: those
    /// go into a queue that replies trim from the front (``trimAskTimeouts()``), where heap
    /// entries would linger until they fired, half a minute of them at tens of thousands of asks
    /// a second. A deadline earlier than the last queued (a shorter timeout) goes into the heap.
    func addAskTimeout(_ id: UInt64, _ deadline: ContinuousClock.Instant) {
        if let last = askTimeouts.last, deadline < last.deadline {
            timers.insert(deadline, .askTimeout(id))
        } else {
            askTimeouts.append((deadline, id))
        }
    }

    /// Drops the queued timeouts of answered asks from the front of the queue.
    @inline(__always)
    func trimAskTimeouts() {
        while let first = askTimeouts.first, !pending.contains(first.id) { askTimeouts.removeFirst() }
    }

    var nextDeadline: ContinuousClock.Instant? {
        guard let ask = askTimeouts.first?.deadline else { return timers.first?.deadline }
        guard let other = timers.first?.deadline else { return ask }
        return min(ask, other)
    }

    /// Acts on every timer that is due.
    func fireTimers() {
        let now = clock.now
        while let first = askTimeouts.first, first.deadline <= now {
            askTimeouts.removeFirst()
            if pending.contains(first.id) { deliverReply(id: first.id, result: .failure(ReplyError(.timeout, "timeout"))) }
        }
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
