internal import CLuaShim

/// The open `lua_State`, shared by the ``LuaState`` that owns it and every ``LuaRef`` into it, so
/// that references can tell when the state has closed.
package final class LuaCore {
    /// The state, or nil once closed. Kept behind a pointer so that reading it on every call costs
    /// no exclusivity check (the owning isolation domain is the only reader and writer).
    private let slot: UnsafeMutablePointer<OpaquePointer?>

    package var L: OpaquePointer? { slot.pointee }

    init(_ L: OpaquePointer) {
        slot = .allocate(capacity: 1)
        slot.initialize(to: L)
    }

    package func open() throws(LuaError) -> OpaquePointer {
        guard let L else { throw LuaError(kind: .state, message: "the Lua state is closed") }
        return L
    }

    func close(budgetNanoseconds: Int64) throws(LuaError) {
        guard let L else { return }
        guard loom_depth(L) == 0 else {
            throw LuaError(kind: .state, message: "cannot close a Lua state from inside one of its own calls")
        }
        slot.pointee = nil
        loom_close(L, budgetNanoseconds)
    }

    deinit {
        if let L { loom_close(L, 0) }
        slot.deallocate()
    }

    /// Builds the error for a failed entry from the error value on top and the details the shim
    /// recorded, and resets the stack to `base`.
    package func takeError(_ status: Int32, base: Int32) -> LuaError {
        guard let L else { return LuaError(kind: .state, message: "the Lua state is closed") }
        var info = LoomErrorInfo()
        loom_last_error(L, &info)
        let stack = LuaStack(L)
        let raw = stack.string(at: -1) ?? "(error object is a \(stack.type(at: -1).name) value)"
        let source = withUnsafeBytes(of: info.source) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        loom_push_last_traceback(L)
        let traceback = stack.string(at: -1)
        lua_settop(L, base)
        let kind: LuaError.Kind = switch info.kind {
        case Int32(LOOM_KIND_SYNTAX.rawValue): .syntax
        case Int32(LOOM_KIND_MEMORY.rawValue): .memory
        case Int32(LOOM_KIND_TIMEOUT.rawValue): .timeout
        case Int32(LOOM_KIND_BUDGET.rawValue): .budget
        default: status == LUA_ERRMEM ? .memory : (status == LUA_ERRSYNTAX ? .syntax : .runtime)
        }
        return LuaError.fromLua(kind: kind, rawMessage: raw, source: source.isEmpty ? nil : source,
                                line: info.line > 0 ? Int(info.line) : nil, traceback: traceback)
    }

    /// Pops the value on top into a registry reference.
    package func popRef() throws(LuaError) -> LuaRef {
        let L = try open()
        var ref: Int32 = loom_noref()
        let status = loom_ref_p(L, &ref)
        if status != LUA_OK {
            try LuaStack(L).check(status)
        }
        return LuaRef(core: self, ref: ref)
    }
}
