import DequeModule
import Foundation
import Logging
import LuaKit

/// Supervision: what a handler's failure does to its agent.
extension NodeEngine {
    /// A handler failed: the asker gets the error; a crash restarts the agent from its last
    /// persisted state with backoff, and too many restarts stop it. A budget breach fails only the
    /// message. Returns what the call deferred to its end (an upgrade, a retirement).
    @discardableResult
    func handlerFailed(_ slot: AgentSlot, _ error: LuaError) -> AgentLifecycle.FollowUp {
        var log = logger
        log[metadataKey: "agent"] = .string(slot.name)
        log.error("handler failed: \(error.description)")
        slot.coroutine = nil
        if let group = slot.group {
            pending.remove(group.ids)
            slot.group = nil
        }
        if let envelope = slot.runningEnvelope {
            slot.runningEnvelope = nil
            reply(to: envelope, .failure(ReplyError(.handlerFailed(error.kind), error.summary)))
        }
        if [.timeout, .budget, .memory].contains(error.kind) { return slot.lifecycle.callFailed(.none) }
        let now = clock.now
        slot.restarts = slot.restarts.filter { now - $0 < options.restartWindow } + [now]
        slot.totalRestarts += 1
        if slot.restarts.count > options.maxRestarts {
            let followUp = slot.lifecycle.callFailed(.never)
            passivate(slot, save: false)
            log.error("agent stopped: \(slot.restarts.count) restarts within \(options.restartWindow)")
            try? store.setStatus(agent: slot.name, status: "failed", restarts: slot.totalRestarts)
            for envelope in slot.mailbox {
                reply(to: envelope, .failure(ReplyError(.stopped, "agent '\(slot.name)' has failed and is stopped")))
            }
            slot.mailbox.removeAll()
            return followUp
        }
        var delay = options.restartBackoff
        for _ in 1..<slot.restarts.count { delay = delay * 2 }
        let followUp = slot.lifecycle.callFailed(.later)
        passivate(slot, save: false)
        addTimer(Timer(deadline: now + delay, action: .retry(slot.name)))
        return followUp
    }
}
