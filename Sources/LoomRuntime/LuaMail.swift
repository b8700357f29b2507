internal import CLoomMail
internal import CLuaShim
package import LuaKit

/// Messages between agents kept inside the VM (see `mail.c`): `send` copies a message into a new
/// Lua table and queues it in arrival order; ``deliver(max:)`` runs the receivers' handlers from C.
/// The host numbers the receivers ("slots", from 1), names them, and says which are ready.
package final class LuaMail {
    let core: LuaCore
    let mail: OpaquePointer

    package init(_ state: LuaState, node: String, capacity: Int) throws(LuaError) {
        core = state.core
        let L = try core.open()
        guard let m = loom_mail_new(L, node, Int32(clamping: capacity)) else {
            throw LuaError(kind: .memory, message: "not enough memory for the node's mail")
        }
        mail = m
    }

    deinit { loom_mail_free(core.L, mail) }

    /// `send(to, msg)` for agents: the fast path, and `fallback` (the host's own send) for any
    /// receiver that is not an open slot, or a sender that is not a slot's handler.
    package func sendFunction(fallback: LuaRef) throws(LuaError) -> LuaRef {
        let L = try core.open()
        try LuaStack(L).check(loom_mail_send_function_p(L, mail, fallback.ref))
        return try core.popRef()
    }

    package func register(_ slot: Int32, name: String) throws(LuaError) {
        let L = try core.open()
        let status = name.withCString { loom_mail_register_p(L, mail, slot, $0, name.utf8.count) }
        try LuaStack(L).check(status)
    }

    package func unregister(_ slot: Int32, name: String) {
        guard let L = core.L else { return }
        _ = name.withCString { loom_mail_unregister_p(L, mail, slot, $0, name.utf8.count) }
    }

    /// Open: sends may queue for the slot. Ready with a handler: delivery may run it now.
    package func setFlags(_ slot: Int32, open: Bool, readyWith handler: LuaRef?) {
        let flags = (open ? Int32(LOOM_MAIL_OPEN) : 0) | (handler != nil ? Int32(LOOM_MAIL_READY) : 0)
        loom_mail_set_flags(mail, slot, flags, handler?.ref ?? loom_noref())
    }

    package func clearReady(_ slot: Int32) { loom_mail_clear_ready(mail, slot) }

    /// Messages waiting for the slot on the host's side (they count against the capacity).
    package func setBacklog(_ slot: Int32, _ count: Int) { loom_mail_set_backlog(mail, slot, Int32(clamping: count)) }

    package func queued(_ slot: Int32) -> Int { Int(loom_mail_queued(mail, slot)) }
    package var pending: Int { Int(loom_mail_pending(mail)) }
    /// Handlers run from the mail so far (for tests and measurements).
    package var delivered: Int { Int(loom_mail_total(mail)) }

    /// The slot whose handler runs now, 0 for none.
    package var current: Int32 {
        get { loom_mail_current(mail) }
        set { loom_mail_set_current(mail, newValue) }
    }

    package enum Delivery {
        /// Nothing left, or `max` handlers ran.
        case idle
        /// The next message's receiver is not ready: make it ready, or ``take(_:)`` its messages.
        case divert(slot: Int32)
        /// This slot's handler yielded or failed; its coroutine is now the caller's.
        case stopped(slot: Int32, coroutine: LuaCoroutine?, stop: LuaState.BatchStop)
    }

    /// Runs up to `max` handlers; returns how many ran and why it stopped.
    package func deliver(max: Int) -> (delivered: Int, outcome: Delivery) {
        guard let L = core.L else { return (0, .idle) }
        let base = lua_gettop(L)
        var delivered: Int32 = 0, slot: Int32 = 0, results: Int32 = 0
        let status = loom_mail_deliver(L, mail, Int32(clamping: max), &delivered, &slot, &results)
        if status == LOOM_MAIL_IDLE { return (Int(delivered), .idle) }
        if status == LOOM_MAIL_DIVERT { return (Int(delivered), .divert(slot: slot)) }
        guard lua_gettop(L) > base, let thread = lua_tothread(L, -1) else {
            lua_settop(L, base)
            return (Int(delivered), .stopped(slot: slot, coroutine: nil, stop: .failed(LuaError(kind: .memory, message: "not enough memory to start a handler"))))
        }
        let ref: LuaRef
        do { ref = try core.popRef() } catch {
            lua_settop(L, base)
            return (Int(delivered), .stopped(slot: slot, coroutine: nil, stop: .failed(error)))
        }
        let co = LuaCoroutine(core: core, ref: ref, thread: thread)
        if status == LUA_YIELD {
            let stack = LuaStack(L)
            do { try stack.reserve(results + 2) } catch {
                co.isFinished = true
                return (Int(delivered), .stopped(slot: slot, coroutine: co, stop: .failed(error)))
            }
            lua_xmove(thread, L, results)
            defer { lua_settop(L, base) }
            var values: [LuaValue] = []
            for i in 0..<results {
                do { values.append(try stack.value(at: base + 1 + i)) } catch {
                    return (Int(delivered), .stopped(slot: slot, coroutine: co, stop: .failed(error)))
                }
            }
            return (Int(delivered), .stopped(slot: slot, coroutine: co, stop: .yielded(values)))
        }
        co.isFinished = true
        lua_xmove(thread, L, 1)
        return (Int(delivered), .stopped(slot: slot, coroutine: co, stop: .failed(core.takeError(status, base: base))))
    }

    /// Takes the messages queued for `slot` out of the VM, in order, as host values with their
    /// senders' names. A message is removed only once converted: when one cannot be (the VM is out
    /// of memory), the ones before it are returned with the error, and it and the rest stay queued.
    package func take(_ slot: Int32) -> (messages: [(from: String?, payload: LuaValue)], error: LuaError?) {
        guard let L = core.L else { return ([], LuaError(kind: .state, message: "the Lua state is closed")) }
        let base = lua_gettop(L)
        let stack = LuaStack(L)
        var cursor = 0
        var out: [(from: String?, payload: LuaValue)] = []
        while true {
            var position = 0
            let r = loom_mail_take(L, mail, slot, &cursor, &position)
            if r == 0 { return (out, nil) }
            if r < 0 { return (out, LuaError(kind: .memory, message: "not enough stack to take a message")) }
            defer { lua_settop(L, base) }
            let payload: LuaValue
            do { payload = try stack.value(at: base + 1) } catch { return (out, error) }
            out.append((stack.string(at: base + 2), payload))
            loom_mail_taken(L, mail, position)
        }
    }

    /// The slots that ran a handler since the last call, each once. Valid until the next call.
    package func touched() -> UnsafeBufferPointer<Int32> {
        var ids: UnsafePointer<Int32>?
        let n = loom_mail_touched(mail, &ids)
        return UnsafeBufferPointer(start: ids, count: ids == nil ? 0 : Int(n))
    }
}

@available(*, unavailable)
extension LuaMail: Sendable {}

@available(*, unavailable)
extension LuaMail.Delivery: Sendable {}
