internal import CLuaShim

/// A Lua coroutine driven by the host: each ``resume(_:)`` is an entry into Lua under the state's
/// limits, and returns what the coroutine yielded or returned.
///
/// Loom's agents run their handlers in coroutines: a handler that calls `ask` yields to the host,
/// which resumes it with the reply.
public final class LuaCoroutine {
    package let core: LuaCore
    /// Keeps the thread object alive in the registry.
    let ref: LuaRef
    package let thread: OpaquePointer

    /// What a resume ended with.
    public enum Outcome: Sendable, Equatable {
        /// The coroutine yielded these values and can be resumed.
        case yielded([LuaValue])
        /// The function returned these values; the coroutine is finished.
        case returned([LuaValue])
    }

    package init(core: LuaCore, ref: LuaRef, thread: OpaquePointer) {
        self.core = core
        self.ref = ref
        self.thread = thread
    }

    /// Whether the coroutine has finished (returned or failed) and can no longer be resumed; false
    /// while it is fresh or suspended in a yield. ``restart(_:)`` makes a finished one fresh again.
    public package(set) var isFinished = false

    /// Makes a finished coroutine ready to call `function` on its next resume, reusing its Lua
    /// thread (cheaper than a new coroutine).
    /// - Throws: `state` when the coroutine has not finished or the state is closed.
    public func restart(_ function: LuaRef) throws(LuaError) {
        guard isFinished else { throw LuaError(kind: .state, message: "cannot restart a coroutine that has not finished") }
        let L = try core.open()
        _ = loom_thread_reset(L, thread)
        try LuaStack(L).reserve(2)
        function.push(L)
        lua_xmove(L, thread, 1)
        isFinished = false
    }

    /// Resumes with `arguments` (for a fresh coroutine: the function's arguments; after a yield: the
    /// results of the yield). A failure finishes the coroutine and throws.
    ///
    /// Each resume is an entry under ``LuaState/limits``; nested inside another entry, it shares
    /// that entry's deadline.
    /// - Returns: `.yielded` with the values passed to `coroutine.yield`, or `.returned` with the
    ///   function's results; both copied.
    /// - Throws: `state` when the coroutine has finished; the script's error otherwise.
    public func resume(_ arguments: [LuaValue] = []) throws(LuaError) -> Outcome {
        try resume(count: Int32(arguments.count)) { stack throws(LuaError) in
            for a in arguments { try stack.push(a) }
        }
    }

    /// Resumes with arguments pushed by `push` (which may push references) onto the host's stack.
    public func resume(count: Int32, push: (LuaStack) throws(LuaError) -> Void) throws(LuaError) -> Outcome {
        guard !isFinished else { throw LuaError(kind: .state, message: "cannot resume a finished coroutine") }
        let L = try core.open()
        let stack = LuaStack(L)
        let base = lua_gettop(L)
        try stack.reserve(count + 4)
        do { try push(stack) } catch {
            lua_settop(L, base)
            throw error
        }
        lua_xmove(L, thread, count)
        var results: Int32 = 0
        let status = loom_resume(L, thread, count, &results)
        if status != LUA_OK && status != LUA_YIELD {
            isFinished = true
            lua_xmove(thread, L, 1)
            throw core.takeError(status, base: base)
        }
        if status == LUA_OK { isFinished = true }
        try stack.reserve(results + 2)
        lua_xmove(thread, L, results)
        defer { lua_settop(L, base) }
        var values: [LuaValue] = []
        values.reserveCapacity(Int(results))
        for i in 0..<results { values.append(try stack.value(at: base + 1 + i)) }
        return status == LUA_YIELD ? .yielded(values) : .returned(values)
    }
}

@available(*, unavailable)
extension LuaCoroutine: Sendable {}

extension LuaState {
    /// A new coroutine that will call `function` on its first resume.
    public func coroutine(_ function: LuaRef) throws(LuaError) -> LuaCoroutine {
        let L = try core.open()
        let base = lua_gettop(L)
        try LuaStack(L).reserve(4)
        var thread: OpaquePointer?
        let status = loom_newthread_p(L, &thread)
        guard status == LUA_OK, let thread else {
            defer { lua_settop(L, base) }
            try LuaStack(L).check(status)
            throw LuaError(kind: .memory, message: "cannot create a coroutine")
        }
        function.push(L)
        lua_xmove(L, thread, 1)
        let ref = try core.popRef()
        return LuaCoroutine(core: core, ref: ref, thread: thread)
    }

    /// Runs a full garbage collection (for measurements and after passivating many agents).
    public func collectGarbage() {
        guard let L = core.L else { return }
        loom_gc_collect(L)
    }
}
