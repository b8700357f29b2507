import DequeModule
import Foundation
import Logging
import LoomMemory
import LuaKit

/// Persistence: saving agents' state, passivating idle agents, memory consolidation, and the
/// engine's part of a shutdown.
extension NodeEngine {
    /// Writes the state of the given agents (or of every dirty active agent) in one transaction.
    func flush(_ slots: [AgentSlot]? = nil) {
        var states: [String: [UInt8]] = [:]
        for slot in slots ?? agents.values.filter({ $0.dirty }) {
            guard let env = slot.env else { continue }
            // Not dirty any more even when the state cannot be saved: a state that cannot be
            // copied (too large, a function in it) is tried again when a handler changes it, not
            // on every flush.
            slot.dirty = false
            do {
                let value = try env.rawRef("state")?.value(path: "state") ?? .nil
                states[slot.name] = try StateCodec.encode(value)
            } catch {
                logger.error("agent '\(slot.name)': cannot save state: \(error)")
            }
        }
        do { try store.saveStates(states) } catch {
            logger.error("cannot write agent state: \(error)")
        }
        do { try store.memoryStore()?.flush() } catch {
            logger.error("cannot write memory usage: \(error)")
        }
    }

    /// Scheduled consolidation of every agent's memory (`[memory] consolidate_every`).
    func consolidateMemory() {
        guard let memory = store.memoryStore() else { return }
        do {
            let r = try memory.consolidate(agent: nil, now: Date().timeIntervalSince1970)
            logger.info("memory consolidated: expired \(r.expired), merged \(r.merged), folded \(r.folded) into \(r.summaries) summaries")
        } catch {
            logger.error("memory consolidation failed: \(error)")
        }
    }

    /// Passivates agents idle longer than the idle time.
    func passivateIdle() {
        let now = clock.now
        var idle: [AgentSlot] = []
        for slot in agents.values where slot.env != nil && !slot.lifecycle.hasCallInFlight && slot.mailbox.isEmpty
            && now - slot.lastActive >= options.idleTime {
            idle.append(slot)
        }
        guard !idle.isEmpty else { return }
        flush(idle)
        for slot in idle { passivate(slot, save: false) }
    }

    /// Answers with `error` every ask still queued in a mailbox, or being handled: at the end of a
    /// shutdown's grace, nobody will answer them otherwise. Replies to other nodes go to `outbound`.
    func failUnfinishedAsks(_ error: ReplyError) {
        for slot in agents.values {
            if let running = slot.runningEnvelope, case .ask = running.kind {
                slot.runningEnvelope = nil
                reply(to: running, .failure(error))
            }
            for envelope in slot.mailbox {
                if case .ask = envelope.kind { reply(to: envelope, .failure(error)) }
            }
        }
    }

    /// Saves every active agent, fails every ask host code waits on, and closes the VM.
    func shutdown() {
        flush(agents.values.filter { $0.env != nil })
        let down = ReplyError(.shutDown, "node '\(name)' shut down")
        for waiter in pending.removeAll() {
            switch waiter {
            case .external(let c): c.resume(throwing: down)
            case .hostGroup(let group, let index): group.answer(index, .failure(down))
            case .agent, .group: break
            }
        }
        // Their lifecycles stay as they are (what `loom agents` last showed); the VM goes.
        for slot in agents.values { slot.releaseEnvironment() }
        coroutinePool.removeAll()
        modules.removeAll()
        behaviours.removeAll()
        hostTables.removeAll()
        api.removeAll()
        logTable = nil
        try? lua.close()
    }
}
