import DequeModule
import Foundation
import Logging
import LuaKit

/// Asks and replies: what a handler's yield asks for (`ask`, `ask_all`, `sleep`), asks from host
/// code, and replies reaching whoever waits for them (see ``PendingAsks``).
extension NodeEngine {
    /// An ask from host code: `waiter` is the host's continuation (or its place in a group).
    /// A failure to queue it is answered at once.
    func askFromHost(_ to: Address, _ task: LuaValue, timeout: Duration, waiter: PendingAsks.Waiter) {
        let id = pending.add(waiter)
        if case .failure(let e) = enqueue(Envelope(from: Address(node: name, agent: "$host"), to: to, kind: .ask(id: id), payload: task, timeout: timeout)) {
            deliverReply(id: id, result: .failure(e))
            return
        }
        addAskTimeout(id, after: timeout)
    }

    /// A reply (or a failure) for request `id` reaches whoever waits for it. A failure reaches Lua
    /// as its message: `nil, message` from `ask`, `{ok = false, error = message}` in `ask_all`.
    func deliverReply(id: UInt64, result: Result<LuaValueBox, ReplyError>) {
        guard let waiter = pending.remove(id) else { return }   // timed out already
        trimAskTimeouts()
        switch waiter {
        case .external, .hostGroup:
            answerHost(waiter, result)   // after the step's group commit
        case .agent(let name):
            guard let slot = agents[name] else { return }
            switch result {
            case .success(let v): wake(slot, with: [v.value])
            case .failure(let e): wake(slot, with: [.nil, .string(LuaString(e.message))])
            }
        case .group(let name, let index):
            guard let slot = agents[name], var group = slot.group else { return }
            switch result {
            case .success(let v): group.results[index + 1] = ["ok": true, "value": v.value]
            case .failure(let e): group.results[index + 1] = ["ok": false, "error": .string(LuaString(e.message))]
            }
            group.remaining -= 1
            slot.group = group
            if group.remaining == 0 {
                pending.remove(group.ids)
                slot.group = nil
                wake(slot, with: [.table(group.results)])
            }
        }
    }

    /// The handler's wait is over: it resumes with `values` on its next step.
    func wake(_ slot: AgentSlot, with values: [LuaValue]) {
        if slot.lifecycle.woken(with: values) == .schedule { schedule(slot) }
    }

    /// Answers an ask (a send's failure is logged: nobody waits for it).
    func reply(to envelope: Envelope, _ result: Result<LuaValueBox, ReplyError>) {
        guard case .ask(let id) = envelope.kind else {
            if case .failure(let e) = result { logger.warning("message to '\(envelope.to.agent)' failed: \(e.message)") }
            return
        }
        _ = enqueue(Envelope(from: envelope.to, to: envelope.from, kind: .reply(id: id, result: result), payload: .nil))
    }

    /// Acts on what a handler yielded: starts its wait, or fails it. Returns what its call
    /// deferred, when the yield ended it.
    func handleYield(_ slot: AgentSlot, _ values: [LuaValue]) -> AgentLifecycle.FollowUp {
        // The handler ran up to here and may have changed `state`: it is saved on the next flush,
        // while the handler waits (in sleep or ask), not only when it returns.
        slot.dirty = true
        // The prelude's requests, matched as bytes: no String made for them.
        let op = values.first?.luaString
        let from = Address(node: name, agent: slot.name)
        switch op {
        case Self.askRequest:
            guard let toText = values[safe: 1]?.string, let to = Address(toText, localNode: name) else {
                wake(slot, with: [.nil, .string("ask: the first argument must be an address (agent or node/agent)")])
                return .nothing
            }
            let timeout = seconds(values[safe: 3]?.table?["timeout"]) ?? options.askTimeout
            let id = pending.add(.agent(slot.name))
            if case .failure(let e) = enqueue(Envelope(from: from, to: to, kind: .ask(id: id), payload: values[safe: 2] ?? .nil, timeout: timeout)) {
                _ = pending.remove(id)
                wake(slot, with: [.nil, .string(LuaString(e.message))])
                return .nothing
            }
            slot.lifecycle.waitStarted()
            if to.node != name { slot.lifecycle.awaitsOtherNode() }
            addAskTimeout(id, after: timeout)
        case Self.askAllRequest:
            guard let list = values[safe: 1]?.table else {
                wake(slot, with: [.nil, .string("ask_all: expected a list of {to, task}")])
                return .nothing
            }
            let timeout = seconds(values[safe: 2]?.table?["timeout"]) ?? options.askTimeout
            slot.group = AgentSlot.Group(results: LuaTable(), remaining: list.array.count, ids: [])
            slot.lifecycle.waitStarted()
            if list.array.isEmpty {
                slot.group = nil
                wake(slot, with: [.table(LuaTable())])
                return .nothing
            }
            for (i, item) in list.array.enumerated() {
                let id = pending.add(.group(slot.name, i))
                slot.group?.ids.append(id)
                let toText = item.table?["to"].string ?? item.table?[1].string ?? ""
                let task = item.table?["task"] ?? item.table?[2] ?? .nil
                guard let to = Address(toText, localNode: name) else {
                    deliverReply(id: id, result: .failure(ReplyError(.badAddress, "'\(toText)' is not an address")))
                    continue
                }
                if case .failure(let e) = enqueue(Envelope(from: from, to: to, kind: .ask(id: id), payload: task, timeout: timeout)) {
                    deliverReply(id: id, result: .failure(e))
                    continue
                }
                if to.node != name { slot.lifecycle.awaitsOtherNode() }
                addAskTimeout(id, after: timeout)
            }
        case Self.sleepRequest:
            let duration = seconds(values[safe: 1]) ?? .zero
            slot.lifecycle.waitStarted()
            addTimer(Timer(deadline: clock.now + duration, action: .wake(slot.name, call: slot.lifecycle.call?.number ?? 0)))
        default:
            return handlerFailed(slot, LuaError(kind: .runtime, message: "a handler yielded outside a coroutine of its own "
                + "(use ask, ask_all or sleep to wait; coroutine.yield only inside coroutine.wrap)"))
        }
        return .nothing
    }

    private static let askRequest: LuaString = "loom.ask"
    private static let askAllRequest: LuaString = "loom.ask_all"
    private static let sleepRequest: LuaString = "loom.sleep"

    private func seconds(_ v: LuaValue?) -> Duration? {
        guard let s = v?.number, s.isFinite, s >= 0 else { return nil }
        return .milliseconds(Int64((s * 1000).rounded()))
    }
}
