internal import CLuaShim

/// A reference to a Lua value held in the state's registry, released when the reference goes.
///
/// A `LuaRef` keeps functions, tables and other values alive across calls. It belongs to the
/// isolation domain of its ``LuaState``; it is not `Sendable`. Using it after the state closed
/// throws a `state` error. Its registry slot is freed when the reference is deinitialized.
///
/// ```swift
/// let module = try lua.load("return { greet = function(n) return 'hi ' .. n end }", name: "m.lua")
///     .callRef()                                      // keep the table, not a copy
/// let greet = try module.ref("greet")
/// let text = try greet.call("Ada", as: String.self)    // "hi Ada"
/// ```
public final class LuaRef {
    package let core: LuaCore
    package let ref: Int32

    init(core: LuaCore, ref: Int32) {
        self.core = core
        self.ref = ref
    }

    deinit {
        if let L = core.L { loom_unref(L, ref) }
    }

    /// The type of the referenced value.
    public var type: LuaType {
        guard let L = core.L else { return .none }
        let t = loom_rawgeti_registry(L, ref)
        loom_pop(L, 1)
        return LuaType(rawValue: t) ?? .none
    }

    /// Pushes the referenced value (the state must be open).
    package func push(_ L: OpaquePointer) { _ = loom_rawgeti_registry(L, ref) }

    /// A deep copy of the referenced value (tables read raw). `path` names it in conversion errors.
    /// - Throws: `conversion` for a cycle, nesting past 100 levels or a copy past the VM's bound
    ///   (see ``LuaStack/value(at:maxDepth:maxBytes:path:)``); `state` when the state is closed.
    public func value(path: String = "value") throws(LuaError) -> LuaValue {
        let L = try core.open()
        push(L)
        defer { loom_pop(L, 1) }
        return try LuaStack(L).value(at: -1, path: path)
    }

    /// Raw `value[key]` as a reference, or nil when the key is absent or the value is not a table
    /// (no metamethods run).
    public func rawRef(_ key: String) throws(LuaError) -> LuaRef? {
        let L = try core.open()
        let base = lua_gettop(L)
        try LuaStack(L).reserve(4)
        push(L)
        guard lua_type(L, -1) == LUA_TTABLE else {
            lua_settop(L, base)
            return nil
        }
        try LuaStack(L).push(key)
        if lua_rawget(L, -2) == LUA_TNIL {
            lua_settop(L, base)
            return nil
        }
        loom_remove(L, -2)
        return try core.popRef()
    }

    // MARK: Calls

    /// Calls the value with the arguments, under the state's limits; returns every result.
    ///
    /// Arguments are pushed as copies and results are copied out
    /// (``LuaStack/value(at:maxDepth:maxBytes:path:)``), so this is the convenient path, not the
    /// fastest: see ``call(_:as:)``.
    /// - Throws: the script's error (`runtime`, `timeout`, `budget`, `memory`), `conversion` when an
    ///   argument is `.opaque` or a result cannot be copied, `state` when the state is closed.
    @discardableResult
    public func call(_ arguments: LuaValue...) throws(LuaError) -> [LuaValue] {
        try call(arguments: arguments)
    }

    /// Calls the value with a list of arguments, under the state's limits; returns every result.
    @discardableResult
    public func call(arguments: [LuaValue]) throws(LuaError) -> [LuaValue] {
        let L = try core.open()
        let stack = LuaStack(L)
        let base = lua_gettop(L)
        try stack.reserve(Int32(clamping: arguments.count) + 4)
        push(L)
        do {
            for argument in arguments { try stack.push(argument) }
        } catch {
            lua_settop(L, base)
            throw error
        }
        let status = loom_pcall(L, Int32(arguments.count), loom_multret())
        guard status == LUA_OK else { throw core.takeError(status, base: base) }
        defer { lua_settop(L, base) }
        let count = lua_gettop(L) - base
        var results: [LuaValue] = []
        results.reserveCapacity(Int(count))
        for i in 0..<count { results.append(try stack.value(at: base + 1 + i)) }
        return results
    }

    /// Calls the value with typed arguments and reads one typed result, without building
    /// ``LuaValue``s on the way. The fast path.
    ///
    /// A missing result reads as Lua's nil, so ask for an `Optional` when the function may return
    /// nothing. Up to three arguments go through fixed-arity overloads that specialize fully.
    /// - Throws: the script's error; `conversion` ("result: ...") when the first result is not an `R`.
    ///
    /// ```swift
    /// let sum = try add.call(2, 3, as: Int64.self)
    /// ```
    public func call<each A: LuaPushable, R: LuaReadable>(
        _ arguments: repeat each A, as result: R.Type
    ) throws(LuaError) -> R {
        let stack = try beginCall()
        var count: Int32 = 0
        do {
            for argument in repeat each arguments {
                count += 1
                if count > 16 { try stack.reserve(2) }
                try argument.push(onto: stack)
            }
        } catch {
            endCall(stack)
            throw error
        }
        return try finishCall(stack, count: count)
    }

    // Fixed arities: plain generics specialize fully, where parameter packs still go through
    // witness tables. They behave exactly like the variadic form above. They are inlinable, so a
    // caller in another module (the runtime, a host program) gets them specialized for its types;
    // what they call is non-generic (``beginCall()``, ``invokeCall(_:count:)``, ``endCall(_:)``).

    /// Calls the value with no arguments and reads its first result as `R`; see ``call(_:as:)``.
    @inlinable
    public func call<R: LuaReadable>(as result: R.Type) throws(LuaError) -> R {
        let stack = try beginCall()
        return try finishCall(stack, count: 0)
    }

    /// Calls the value with one typed argument and reads its first result as `R`.
    @inlinable
    public func call<A: LuaPushable, R: LuaReadable>(_ a: A, as result: R.Type) throws(LuaError) -> R {
        let stack = try beginCall()
        do { try a.push(onto: stack) } catch { endCall(stack); throw error }
        return try finishCall(stack, count: 1)
    }

    /// Calls the value with two typed arguments and reads its first result as `R`.
    @inlinable
    public func call<A: LuaPushable, B: LuaPushable, R: LuaReadable>(_ a: A, _ b: B, as result: R.Type) throws(LuaError) -> R {
        let stack = try beginCall()
        do {
            try a.push(onto: stack)
            try b.push(onto: stack)
        } catch {
            endCall(stack)
            throw error
        }
        return try finishCall(stack, count: 2)
    }

    /// Calls the value with three typed arguments and reads its first result as `R`.
    @inlinable
    public func call<A: LuaPushable, B: LuaPushable, C: LuaPushable, R: LuaReadable>(
        _ a: A, _ b: B, _ c: C, as result: R.Type
    ) throws(LuaError) -> R {
        let stack = try beginCall()
        do {
            try a.push(onto: stack)
            try b.push(onto: stack)
            try c.push(onto: stack)
        } catch {
            endCall(stack)
            throw error
        }
        return try finishCall(stack, count: 3)
    }

    /// Calls with `count` arguments pushed, reads one result as `R`, restores the stack.
    @inlinable
    func finishCall<R: LuaReadable>(_ stack: LuaStack, count: Int32) throws(LuaError) -> R {
        try invokeCall(stack, count: count)
        defer { endCall(stack) }
        do {
            return try R.read(from: stack, at: -1)
        } catch {
            throw LuaError(kind: .conversion, message: "result: \(error.message)")
        }
    }

    /// Pushes the function; returns the stack, whose ``LuaStack/base`` is the top to restore.
    @usableFromInline
    func beginCall() throws(LuaError) -> LuaStack {
        let L = try core.open()
        let stack = LuaStack(L, base: lua_gettop(L))
        push(L)
        return stack
    }

    /// Calls the function under the state's budget with `count` arguments, for one result. On
    /// failure the stack is restored and the script's error thrown.
    @usableFromInline
    func invokeCall(_ stack: LuaStack, count: Int32) throws(LuaError) {
        let status = loom_pcall(stack.L, count, 1)
        guard status == LUA_OK else { throw core.takeError(status, base: stack.base) }
    }

    /// Restores the stack to where ``beginCall()`` found it.
    @usableFromInline
    func endCall(_ stack: LuaStack) { lua_settop(stack.L, stack.base) }

    /// Calls the value with no arguments and keeps its first result as a reference (for a chunk
    /// that returns a module table, say).
    public func callRef() throws(LuaError) -> LuaRef {
        let L = try core.open()
        let base = lua_gettop(L)
        push(L)
        let status = loom_pcall(L, 0, 1)
        guard status == LUA_OK else { throw core.takeError(status, base: base) }
        return try core.popRef()
    }

    // MARK: Fields

    /// `value[key]`, with metamethods, under the state's limits, copied.
    /// - Throws: the error an `__index` metamethod raises, or indexing a value that cannot be
    ///   indexed (`runtime`); `conversion` when the field cannot be copied.
    public func get(_ key: String) throws(LuaError) -> LuaValue {
        let L = try core.open()
        let base = lua_gettop(L)
        push(L)
        let status = key.withCString { loom_getfield_p(L, -1, $0) }
        guard status == LUA_OK else { throw core.takeError(status, base: base) }
        defer { lua_settop(L, base) }
        return try LuaStack(L).value(at: -1)
    }

    /// A reference to `value[key]`, with metamethods (for functions and tables you want to keep
    /// using); a missing key gives a reference to nil.
    public func ref(_ key: String) throws(LuaError) -> LuaRef {
        let L = try core.open()
        let base = lua_gettop(L)
        push(L)
        let status = key.withCString { loom_getfield_p(L, -1, $0) }
        guard status == LUA_OK else { throw core.takeError(status, base: base) }
        loom_remove(L, -2)
        return try core.popRef()
    }

    /// Raw `value[key] = value` (no metamethods). The referenced value must be a table.
    /// - Throws: `conversion` when it is not a table or `value` is `.opaque`; `memory`.
    public func set(_ key: String, _ value: LuaValue) throws(LuaError) {
        try store(into: "'\(key)'", push: { stack throws(LuaError) in try stack.push(value) },
                  assign: { L in key.withCString { loom_setfield_p(L, -2, $0) } })
    }

    /// Raw `value[index] = other` for a referenced value such as a function.
    public func set(_ index: Int64, _ other: LuaRef) throws(LuaError) {
        try store(into: "[\(index)]", push: { stack in other.push(stack.L) },
                  assign: { L in loom_rawseti_p(L, -2, lua_Integer(index)) })
    }

    /// Raw `value[key] = other` for a referenced value such as a function.
    public func set(_ key: String, _ other: LuaRef) throws(LuaError) {
        try store(into: "'\(key)'", push: { stack in other.push(stack.L) },
                  assign: { L in key.withCString { loom_setfield_p(L, -2, $0) } })
    }

    /// The common part of the raw setters: checks that the value is a table, pushes it and the new
    /// field value, runs the protected assignment, and restores the stack.
    private func store(into field: String, push value: (LuaStack) throws(LuaError) -> Void,
                       assign: (OpaquePointer) -> Int32) throws(LuaError) {
        let L = try core.open()
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        guard type == .table else { throw LuaError(kind: .conversion, message: "cannot set \(field): not a table") }
        push(L)
        try value(LuaStack(L))
        try LuaStack(L).check(assign(L))
    }
}

extension LuaRef: LuaPushable {
    /// Pushes the referenced value, so that functions and tables can be passed as arguments.
    public func push(onto stack: LuaStack) throws(LuaError) {
        guard let L = core.L, L == stack.L || lua_topointer(L, loom_registryindex()) == lua_topointer(stack.L, loom_registryindex()) else {
            throw LuaError(kind: .state, message: "this reference belongs to another (or a closed) Lua state")
        }
        push(stack.L)
    }
}

@available(*, unavailable)
extension LuaRef: Sendable {}
