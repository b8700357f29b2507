internal import CLoomMail
internal import CLuaShim
package import LuaKit

/// Plain values described flat, built in Lua by one protected call (see ``LuaState/runBatch``).
package struct LuaValueList: Sendable {
    var ops: [LoomValueOp] = []
    var arena: [UInt8] = []
    package private(set) var count = 0

    package init() {
        ops.reserveCapacity(64)
        arena.reserveCapacity(256)
    }

    package mutating func removeAll() {
        ops.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        count = 0
    }

    /// Adds a value; a value copied out of Lua (opaque) cannot go back and is refused.
    package mutating func append(_ value: LuaValue) throws(LuaError) {
        let mark = (ops.count, arena.count)
        do { try add(value, depth: 0) } catch {
            ops.removeSubrange(mark.0...)
            arena.removeSubrange(mark.1...)
            throw error
        }
        count += 1
    }

    /// Adds a string.
    package mutating func append(string: String) {
        let offset = arena.count
        arena.append(contentsOf: string.utf8)
        ops.append(LoomValueOp(tag: Int32(LOOM_OP_STRING), integer: 0, number: 0, offset: offset, length: arena.count - offset))
        count += 1
    }

    private mutating func add(_ value: LuaValue, depth: Int) throws(LuaError) {
        func op(_ tag: Int32, integer: Int64 = 0, number: Double = 0, offset: Int = 0, length: Int = 0) -> LoomValueOp {
            LoomValueOp(tag: tag, integer: integer, number: number, offset: offset, length: length)
        }
        switch value {
        case .nil: ops.append(op(Int32(LOOM_OP_NIL)))
        case .boolean(let b): ops.append(op(Int32(b ? LOOM_OP_TRUE : LOOM_OP_FALSE)))
        case .integer(let i): ops.append(op(Int32(LOOM_OP_INTEGER), integer: i))
        case .number(let d): ops.append(op(Int32(LOOM_OP_NUMBER), number: d))
        case .string(let s):
            let offset = arena.count
            arena.append(contentsOf: s.bytes)
            ops.append(op(Int32(LOOM_OP_STRING), offset: offset, length: s.bytes.count))
        case .table(let t):
            guard depth < 200 else { throw LuaError(kind: .conversion, message: "a value nests more than 200 tables deep") }
            ops.append(op(Int32(LOOM_OP_TABLE), offset: t.array.count, length: t.hash.count))
            for v in t.array { try add(v, depth: depth + 1) }
            for (k, v) in t.hash {
                try add(k, depth: depth + 1)
                try add(v, depth: depth + 1)
            }
        case .opaque(let o):
            throw LuaError(kind: .conversion, message: "cannot pass a \(o.typeName) copied out of Lua back into Lua; keep a LuaRef to it instead")
        }
    }
}

/// The context the C batch loop calls back with before each resume.
private final class BatchHookBox {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}

extension LuaState {
    /// How a batch stopped early: the handler at that index yielded, or failed.
    package enum BatchStop: Sendable {
        case yielded([LuaValue])
        case failed(LuaError)
    }

    /// Calls `handlers[i]` with `perCall` values of `arguments` (in order) in `coroutines[i]`, for
    /// each i in turn, each as an entry under the state's limits; `before(i)` runs just before each
    /// call. The arguments are built in one protected call, and the loop runs in C. It stops at
    /// the first handler that yields or fails: that coroutine keeps its state (a yielded one can
    /// be resumed) and `stop` says what happened; handlers after it did not run. Coroutines that
    /// returned are finished, ready for ``LuaCoroutine/restart(_:)`` or another batch.
    package func runBatch(handlers: [LuaRef], coroutines: [LuaCoroutine], arguments: LuaValueList, perCall: Int,
                         before: (Int) -> Void) throws(LuaError) -> (completed: Int, stop: BatchStop?) {
        let n = handlers.count
        guard n == coroutines.count, arguments.count == n * perCall else {
            throw LuaError(kind: .state, message: "runBatch: \(n) handlers, \(coroutines.count) coroutines and \(arguments.count) arguments do not match")
        }
        guard n > 0 else { return (0, nil) }
        let L = try core.open()
        let base = lua_gettop(L)
        let built: Int32 = arguments.ops.withUnsafeBufferPointer { ops in
            arguments.arena.withUnsafeBufferPointer { arena in
                let dummy: CChar = 0
                return withUnsafePointer(to: dummy) { fallback in
                    let pointer = arena.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) } ?? fallback
                    return loom_build_values_p(L, ops.baseAddress, ops.count, pointer, Int32(arguments.count))
                }
            }
        }
        if built != LUA_OK {
            defer { lua_settop(L, base) }
            try LuaStack(L).check(built)
        }
        var refs = handlers.map(\.ref)
        var threads: [OpaquePointer?] = coroutines.map { $0.thread }
        var stopped: Int32 = 0
        var results: Int32 = 0
        let status: Int32 = withoutActuallyEscaping(before) { before in
            let hookBox = BatchHookBox(before)
            let context = Unmanaged.passUnretained(hookBox).toOpaque()
            let hook: LoomBatchHook = { context, index in
                Unmanaged<BatchHookBox>.fromOpaque(context!).takeUnretainedValue().body(Int(index))
            }
            let s = threads.withUnsafeMutableBufferPointer { t in
                refs.withUnsafeMutableBufferPointer { r in
                    loom_run_batch(L, t.baseAddress, r.baseAddress, base + 1, Int32(n), Int32(perCall), hook, context, &stopped, &results)
                }
            }
            withExtendedLifetime(hookBox) {}
            return s
        }
        let done = Int(stopped)
        for i in 0..<done { coroutines[i].isFinished = true }
        if status == LUA_OK {
            lua_settop(L, base)
            return (n, nil)
        }
        let co = coroutines[done]
        if status == LUA_YIELD {
            co.isFinished = false
            lua_settop(L, base)
            let stack = LuaStack(L)
            do { try stack.reserve(results + 2) } catch {
                co.isFinished = true
                return (done, .failed(error))
            }
            lua_xmove(co.thread, L, results)
            defer { lua_settop(L, base) }
            var values: [LuaValue] = []
            for i in 0..<results {
                do { values.append(try stack.value(at: base + 1 + i)) } catch { return (done, .failed(error)) }
            }
            return (done, .yielded(values))
        }
        co.isFinished = true
        lua_settop(L, base)
        if status == LUA_ERRMEM && results == 0 && lua_gettop(co.thread) == 0 {
            return (done, .failed(LuaError(kind: .memory, message: "not enough memory to start a handler")))
        }
        lua_xmove(co.thread, L, 1)
        return (done, .failed(core.takeError(status, base: base)))
    }
}
