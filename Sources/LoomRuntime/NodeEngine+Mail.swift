import DequeModule
import Foundation
import Logging
import LuaKit

/// Where an envelope goes, and delivery of messages between this node's agents from the mail (C).
extension NodeEngine {
    package enum Enqueued {
        case success
        case failure(ReplyError)
    }

    /// Puts an envelope in a local mailbox (or the outbound list for another node).
    package func enqueue(_ envelope: Envelope) -> Enqueued {
        if envelope.to.node != name {
            outbound.append(envelope)
            return .success
        }
        if case .reply(let id, let result) = envelope.kind {
            deliverReply(id: id, result: result)
            return .success
        }
        if envelope.to.agent == "$host" {
            guard options.hostInbox != nil, case .send = envelope.kind else {
                return .failure(ReplyError(.noHost, "no host program listens on '$host' of node '\(name)'; only send reaches it"))
            }
            sendToHost(from: envelope.from.agent, envelope.payload)   // after the step's group commit
            return .success
        }
        guard let slot = agents[envelope.to.agent] ?? instance(envelope.to.agent) else {
            return .failure(ReplyError(.noAgent, "no agent '\(envelope.to.agent)' on node '\(name)'"))
        }
        if slot.lifecycle.isFailed {
            return .failure(ReplyError(.stopped, "agent '\(slot.name)' has failed and is stopped"))
        }
        // What the mail holds for the slot arrived first: it goes ahead (or nothing does).
        divertQueued(slot)
        if slot.id > 0 && mail.queued(slot.id) > 0 {
            return .failure(ReplyError(.outOfMemory, "earlier messages to '\(slot.name)' could not be moved (out of memory); try again"))
        }
        guard slot.mailbox.count < options.mailboxCapacity else {
            return .failure(ReplyError(.mailboxFull, "mailbox of '\(envelope.to)' is full (\(options.mailboxCapacity) messages)"))
        }
        slot.mailbox.append(envelope)
        schedule(slot)
        return .success
    }

    /// Whether delivery from the mail may run the slot's `on_message` now, telling the mail so:
    /// active, idle (not backing off, nothing deferred to the end of a call), nothing older waiting
    /// on the host's side.
    @discardableResult
    func refreshReady(_ slot: AgentSlot) -> Bool {
        let ready = slot.canStartMessage && slot.mailbox.isEmpty && slot.onMessage != nil
        mail.setFlags(slot.id, open: slot.isOpen, readyWith: ready ? slot.onMessage : nil)
        return ready
    }

    /// Runs handlers for the messages in the mail, in order, up to `budget`. A message whose
    /// receiver is not ready goes to the receiver's host mailbox (behind what already waits
    /// there); a handler that yields or fails continues on the host's usual path.
    func deliverMail(budget: Int) -> Int {
        var done = 0
        loop: while done < budget && mail.pending > 0 {
            let (delivered, outcome) = mail.deliver(max: budget - done)
            done += delivered
            switch outcome {
            case .idle:
                break loop
            case .divert(let id):
                guard Int(id) < slotsByID.count, let slot = slotsByID[Int(id)] else {
                    // Removed from the node after these were sent: they go, as its mailbox did.
                    let (dropped, error) = mail.take(id)
                    logger.warning("\(dropped.count) message(s) to a removed agent dropped")
                    if error != nil { break loop }
                    continue
                }
                if refreshReady(slot) { continue }
                // Nothing taken (the VM is out of memory): stop here rather than spin.
                guard divertQueued(slot) else { break loop }
            case .stopped(let id, let coroutine, let stop):
                guard Int(id) < slotsByID.count, let slot = slotsByID[Int(id)] else {
                    // No handler was running: the dispatcher itself could not go on (memory).
                    if case .failed(let error) = stop { logger.error("message delivery stopped: \(error)") }
                    break loop
                }
                continueStopped(slot, coroutine, stop, envelope: Envelope(
                    from: Address(node: name, agent: "$mail"), to: Address(node: name, agent: slot.name), kind: .send, payload: .nil))
            }
        }
        let now = clock.now
        let slots = slotsByID   // a local: no exclusivity check per element
        for id in mail.touched() {
            guard Int(id) < slots.count, let slot = slots[Int(id)] else { continue }
            slot.dirty = true
            slot.lastActive = now
        }
        return done
    }

    /// A handler run from C (the mail or a batch) yielded or failed: its coroutine and message
    /// become the slot's call in flight, and the usual path takes over.
    func continueStopped(_ slot: AgentSlot, _ coroutine: LuaCoroutine?, _ stop: LuaState.BatchStop, envelope: Envelope) {
        slot.lastActive = clock.now
        callsStarted += 1
        slot.lifecycle.callStarted(number: callsStarted)
        slot.coroutine = coroutine
        slot.runningEnvelope = envelope
        current = slot
        let followUp: AgentLifecycle.FollowUp
        switch stop {
        case .yielded(let values): followUp = handleYield(slot, values)
        case .failed(let error): followUp = handlerFailed(slot, error)
        }
        current = nil
        finishStep(slot, followUp)
    }

    /// Moves every message the mail holds for `slot` to the end of its host mailbox, in order:
    /// before anything else is queued there (so a sender's send and then ask keep their order),
    /// and when the slot is not ready for the mail.
    /// Returns false when nothing could be taken although the mail holds messages for the slot.
    @discardableResult
    func divertQueued(_ slot: AgentSlot) -> Bool {
        guard slot.id > 0, mail.queued(slot.id) > 0 else { return true }
        let (taken, error) = mail.take(slot.id)
        if let error { logger.error("messages to '\(slot.name)' wait in the mail: \(error)") }
        guard !slot.lifecycle.isFailed else {
            if !taken.isEmpty { logger.warning("\(taken.count) message(s) to stopped agent '\(slot.name)' dropped") }
            return error == nil || !taken.isEmpty
        }
        let to = Address(node: name, agent: slot.name)
        for m in taken {
            slot.mailbox.append(Envelope(from: Address(node: name, agent: m.from ?? "$unknown"), to: to, kind: .send, payload: m.payload))
        }
        if !taken.isEmpty { schedule(slot) }
        return error == nil || !taken.isEmpty
    }
}
