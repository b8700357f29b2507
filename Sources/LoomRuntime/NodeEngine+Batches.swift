import DequeModule
import Foundation
import LuaKit

/// What batched delivery reuses from batch to batch (the arrays keep their capacity).
struct BatchBuffers {
    var slots: [AgentSlot] = []
    var handlers: [LuaRef] = []
    var coroutines: [LuaCoroutine] = []
    var arguments = LuaValueList()
}

/// Batched delivery: the sends at the head of the run queue handled in one call into C.
extension NodeEngine {
    /// Delivers the sends at the head of the run queue in one batch: the payloads built in one
    /// protected call and the handlers resumed one after another in C, each as its own entry under
    /// the deadline, with `current` set before each. A handler that yields or fails stops the
    /// batch there and takes the usual path; the agents after it are queued again. Nil when fewer
    /// than two agents at the head are ready (the one-message path is used then).
    func runBatch(limit: Int) -> Int? {
        // Most steps of a node that answers asks have one agent ready: nothing to batch.
        guard let second = runQueue.element(at: 1), second.canStartMessage,
              let first = runQueue.element(at: 0), first.canStartMessage else { return nil }
        // Locals rather than the engine's fields inside the loops: no exclusivity check per access.
        var slots = batch.slots, handlers = batch.handlers, coroutines = batch.coroutines, arguments = batch.arguments
        batch = BatchBuffers()
        slots.removeAll(keepingCapacity: true)
        handlers.removeAll(keepingCapacity: true)
        coroutines.removeAll(keepingCapacity: true)
        arguments.removeAll()
        defer {
            batch = BatchBuffers(slots: slots, handlers: handlers, coroutines: coroutines, arguments: arguments)
        }
        let queue = runQueue
        var taken = 0
        while slots.count < limit, let slot = queue.element(at: taken) {
            guard slot.canStartMessage, let handler = slot.onMessage,
                  let envelope = slot.mailbox.first, case .send = envelope.kind else { break }
            do { try arguments.append(envelope.payload) } catch { break }
            arguments.append(string: envelope.from.node == name ? envelope.from.agent : envelope.from.description)
            slots.append(slot)
            handlers.append(handler)
            taken += 1
        }
        guard slots.count >= 2 else { return nil }
        for slot in slots {
            if let pooled = coroutinePool.take() { coroutines.append(pooled); continue }
            guard let fresh = try? lua.coroutine(slot.onMessage!) else {
                coroutinePool.giveBack(coroutines)
                return nil
            }
            fresh.isFinished = true
            coroutines.append(fresh)
        }
        let outcome: (completed: Int, stop: LuaState.BatchStop?)
        do {
            let running = slots
            outcome = try lua.runBatch(handlers: handlers, coroutines: coroutines, arguments: arguments, perCall: 2) { [unowned self] i in
                self.current = running[i]
            }
        } catch {
            current = nil
            coroutinePool.giveBack(coroutines)
            return nil
        }
        current = nil
        batchedMessages += outcome.completed + (outcome.stop == nil ? 0 : 1)
        // The batch's slots leave the run queue; what is runnable afterwards is queued again.
        for slot in slots { slot.queued = false }
        runQueue.removeFirst(taken)
        let now = clock.now
        for k in 0..<outcome.completed {
            let slot = slots[k]
            slot.mailbox.removeFirst()
            slot.dirty = true
            slot.lastActive = now
            coroutinePool.recycle(coroutines[k])
            finishStep(slot, .nothing)
        }
        guard let stop = outcome.stop else { return outcome.completed }
        let slot = slots[outcome.completed]
        continueStopped(slot, coroutines[outcome.completed], stop, envelope: slot.mailbox.removeFirst())
        for k in (outcome.completed + 1)..<slots.count {
            coroutinePool.recycle(coroutines[k])
            schedule(slots[k])
        }
        return outcome.completed + 1
    }
}
