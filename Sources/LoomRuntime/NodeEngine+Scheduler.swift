import DequeModule
import Foundation
import Logging
import LuaKit

/// The scheduler: the run queue, and one step of an agent (resume its handler, or start its next
/// message), round robin.
extension NodeEngine {
    @inline(__always)
    func schedule(_ slot: AgentSlot) {
        guard !slot.queued else { return }
        slot.queued = true
        runQueue.append(slot)
    }

    package var hasWork: Bool { !runQueue.isEmpty || mail.pending > 0 }

    /// What a graceful shutdown waits for: messages queued anywhere in the node (the mail, host
    /// mailboxes), and handlers part-way through (a sleep, an ask). A stopped agent's are not
    /// waited for: nothing will run them.
    var unfinished: Int {
        agents.values.reduce(mail.pending) { sum, slot in
            slot.lifecycle.isFailed ? sum : sum + slot.mailbox.count + (slot.lifecycle.hasCallInFlight ? 1 : 0)
        }
    }

    /// Whether anything can still happen in this node before `deadline`: work is queued that can
    /// run, a timer is due by then (a sleep ends, an ask times out, a restart's backoff passes), or
    /// a handler waits on a reply from another node (which may come at any time). When none of
    /// these holds, nothing that waits now can finish by the deadline: a handler asleep past it
    /// (and the messages queued behind it), an ask to such a handler whose timeout is later still.
    func canFinishSomething(before deadline: ContinuousClock.Instant) -> Bool {
        if hasWork || mail.pending > 0 || !outbound.isEmpty { return true }
        if let next = nextDeadline, next <= deadline { return true }
        return agents.values.contains { $0.lifecycle.call?.awaitsOtherNode == true }
    }

    /// What is unfinished, for the shutdown's warning: the agents with the most waiting, at most five.
    var unfinishedSummary: String {
        var parts: [(name: String, waiting: Int, partWay: Bool, state: String)] = []
        for slot in agents.values where !slot.lifecycle.isFailed {
            let waiting = slot.mailbox.count + mail.queued(slot.id)
            let partWay = slot.lifecycle.hasCallInFlight
            if waiting > 0 || partWay {
                parts.append((slot.name, waiting, partWay, slot.lifecycle.status.rawValue))
            }
        }
        parts.sort { $0.waiting > $1.waiting }
        let shown = parts.prefix(5).map { p in
            "'\(p.name)' (\(p.state)): \(p.waiting) queued" + (p.partWay ? ", a handler part-way" : "")
        }
        return shown.joined(separator: ", ") + (parts.count > 5 ? ", and \(parts.count - 5) more agents" : "")
    }

    /// Runs up to `budget` handler steps, one per agent in turn (round robin). Returns how many ran.
    /// What they remembered is committed at the end, before their replies leave (group commit).
    @discardableResult
    package func step(budget: Int) -> Int {
        stepStarted = clock.now
        beginStep()
        defer { endStep() }
        fireTimers()
        var done = mail.pending > 0 ? deliverMail(budget: budget) : 0
        while done < budget, !runQueue.isEmpty {
            if options.batchDelivery, let n = runBatch(limit: min(256, budget - done)) {
                done += n
                continue
            }
            guard let slot = runQueue.popFirst() else { break }
            slot.queued = false
            let (ran, followUp) = runOne(slot)
            if ran { done += 1 }
            finishStep(slot, followUp)
        }
        runQueue.compactIfDrained()
        return done
    }

    /// The end of an agent's step, on every path (the host's, the mail's, a batch's): what its call
    /// deferred happens now, and it is queued again when it has more to do.
    @inline(__always)
    func finishStep(_ slot: AgentSlot, _ followUp: AgentLifecycle.FollowUp) {
        if followUp != .nothing { afterCall(slot, followUp) }
        if slot.isRunnable { schedule(slot) }
    }

    /// One step of one agent: resume its waiting handler, or start its next message. Returns
    /// whether a handler ran, and what its call deferred if it ended.
    private func runOne(_ slot: AgentSlot) -> (ran: Bool, followUp: AgentLifecycle.FollowUp) {
        let activateFirst: Bool
        switch slot.lifecycle.nextStep(hasMail: !slot.mailbox.isEmpty) {
        case .nothing:
            return (false, .nothing)
        case .resume(let values):
            guard let running = slot.coroutine else {
                slot.lifecycle.callStopped()   // never: a call that waits has its coroutine
                return (false, .nothing)
            }
            return (true, run(slot) { () throws(LuaError) in try running.resume(values) })
        case .startMessage(let activate):
            activateFirst = activate
        }
        guard let envelope = slot.mailbox.popFirst() else { return (false, .nothing) }
        if activateFirst || slot.env == nil {
            do { try activate(slot) } catch {
                logger.error("agent '\(slot.name)' failed to start: \(error)")
                slot.runningEnvelope = envelope
                return (true, handlerFailed(slot, error))
            }
        }
        let handlerName: String
        switch envelope.kind {
        case .ask: handlerName = "on_task"
        case .send: handlerName = "on_message"
        case .reply: return (false, .nothing)
        }
        guard let handler = handlerName == "on_task" ? slot.onTask : slot.onMessage else {
            reply(to: envelope, .failure(ReplyError(.noHandler, "agent '\(slot.name)' has no \(handlerName) handler")))
            return (true, .nothing)
        }
        let co: LuaCoroutine
        do {
            if let pooled = coroutinePool.take() {
                try pooled.restart(handler)
                co = pooled
            } else {
                co = try lua.coroutine(handler)
            }
        } catch {
            reply(to: envelope, .failure(ReplyError(.handlerFailed(error.kind), error.summary)))
            return (true, .nothing)
        }
        callsStarted += 1
        slot.lifecycle.callStarted(number: callsStarted)
        slot.coroutine = co
        slot.runningEnvelope = envelope
        let from = envelope.from.node == name ? envelope.from.agent : envelope.from.description
        return (true, run(slot) { () throws(LuaError) in try co.resume([envelope.payload, .string(LuaString(from))]) })
    }

    /// Resumes the agent's handler and acts on what it yields or returns. Returns what its call
    /// deferred if it ended.
    private func run(_ slot: AgentSlot, _ resume: () throws(LuaError) -> LuaCoroutine.Outcome) -> AgentLifecycle.FollowUp {
        current = slot
        defer { current = nil }
        slot.lastActive = stepStarted   // idleness is reckoned in steps: one clock read per step
        let outcome: LuaCoroutine.Outcome
        do { outcome = try resume() } catch {
            return handlerFailed(slot, error)
        }
        switch outcome {
        case .returned(let values):
            slot.dirty = true
            if let finished = slot.coroutine { coroutinePool.recycle(finished) }
            slot.coroutine = nil
            let followUp = slot.lifecycle.callReturned()
            if let envelope = slot.runningEnvelope {
                slot.runningEnvelope = nil
                reply(to: envelope, .success(LuaValueBox(values.first ?? .nil)))
            }
            return followUp
        case .yielded(let values):
            return handleYield(slot, values)
        }
    }
}
