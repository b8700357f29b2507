internal import CLuaShim

/// The Lua type of a stack slot. Raw values are Lua's `LUA_T*` constants (`LUA_TNONE` is -1).
public enum LuaType: Int32, Sendable {
    /// An index past the top of the stack (an argument that was not passed).
    case none = -1
    case `nil` = 0
    case boolean = 1
    /// A raw C pointer; Lua calls it "userdata" too.
    case lightUserdata = 2
    case number = 3
    case string = 4
    case table = 5
    case function = 6
    case userdata = 7
    case thread = 8

    /// Lua's name for the type.
    public var name: String {
        switch self {
        case .none: "no value"
        case .nil: "nil"
        case .boolean: "boolean"
        case .lightUserdata, .userdata: "userdata"
        case .number: "number"
        case .string: "string"
        case .table: "table"
        case .function: "function"
        case .thread: "thread"
        }
    }
}

/// Direct access to a Lua stack, for host functions and ``LuaConvertible`` conformances.
///
/// Every operation here is safe to call from Swift: nothing raises a Lua error. Operations that
/// allocate run protected and throw a ``LuaError`` of kind `memory` when the cap is reached.
public struct LuaStack {
    let L: OpaquePointer
    /// The stack top a typed call restores when it ends (see `LuaRef.beginCall()`); 0 otherwise.
    let base: Int32

    package init(_ L: OpaquePointer) {
        self.L = L
        base = 0
    }

    init(_ L: OpaquePointer, base: Int32) {
        self.L = L
        self.base = base
    }

    /// The number of values on the stack (in a host function: the number of arguments).
    public var top: Int32 { lua_gettop(L) }

    /// The type of the value at `index` (negative indices count from the top); `.none` past the top.
    public func type(at index: Int32) -> LuaType { LuaType(rawValue: lua_type(L, index)) ?? .none }

    /// Makes room for `n` more values; throws when the stack cannot grow.
    public func reserve(_ n: Int32) throws(LuaError) {
        if lua_checkstack(L, n) == 0 {
            throw LuaError(kind: .memory, message: "stack overflow (cannot reserve \(n) slots)")
        }
    }

    /// Removes the top `n` values. The caller must not pop more than the stack holds.
    public func pop(_ n: Int32 = 1) { loom_pop(L, n) }
    /// Sets the stack's size to `n` values, dropping the values above or filling with nil.
    public func setTop(_ n: Int32) { lua_settop(L, n) }

    // MARK: Pushing

    /// Pushes nil. Like every push of a scalar, it needs a free slot: call ``reserve(_:)`` for more than
    /// the 20 slots Lua guarantees to a C function.
    public func pushNil() { lua_pushnil(L) }
    /// Pushes a boolean.
    public func push(_ b: Bool) { lua_pushboolean(L, b ? 1 : 0) }
    /// Pushes an integer.
    public func push(_ i: Int64) { lua_pushinteger(L, i) }
    /// Pushes a float.
    public func push(_ d: Double) { lua_pushnumber(L, d) }

    /// Pushes the bytes as a Lua string (copied).
    /// - Throws: `memory` when the VM's cap refuses the string.
    public func push(bytes: UnsafeRawBufferPointer) throws(LuaError) {
        try check(LuaStack.withChars(bytes) { loom_pushlstring_p(L, $0, $1) })
    }

    /// Pushes the string's UTF-8 bytes as a Lua string.
    /// - Throws: `memory` when the VM's cap refuses the string.
    public func push(_ s: String) throws(LuaError) {
        var s = s
        try check(s.withUTF8 { buffer in LuaStack.withChars(UnsafeRawBufferPointer(buffer)) { loom_pushlstring_p(L, $0, $1) } })
    }

    /// Pushes the exact bytes as a Lua string.
    /// - Throws: `memory` when the VM's cap refuses the string.
    public func push(_ s: LuaString) throws(LuaError) {
        try check(s.bytes.withUnsafeBytes { buffer in LuaStack.withChars(buffer) { loom_pushlstring_p(L, $0, $1) } })
    }

    /// Calls `body` with a C pointer to the bytes and their count (a valid pointer even when empty).
    static func withChars<R>(_ buffer: UnsafeRawBufferPointer, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
        if let base = buffer.baseAddress, buffer.count > 0 {
            return body(base.assumingMemoryBound(to: CChar.self), buffer.count)
        }
        return "".withCString { body($0, 0) }
    }

    /// Pushes a copy of a Swift value: scalars, strings, and tables built recursively.
    public func push(_ value: LuaValue) throws(LuaError) {
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): push(b)
        case .integer(let i): push(i)
        case .number(let d): push(d)
        case .string(let s): try push(s)
        case .table(let t):
            try reserve(4)
            try check(loom_createtable_p(L, Int32(clamping: t.array.count), Int32(clamping: t.hash.count)))
            for (i, v) in t.array.enumerated() {
                try push(v)
                try check(loom_rawseti_p(L, -2, lua_Integer(i + 1)))
            }
            for (k, v) in t.hash {
                try push(k)
                try push(v)
                try check(loom_rawset_p(L, -3))
            }
        case .opaque(let o):
            throw LuaError(kind: .conversion, message: "cannot pass a \(o.typeName) copied out of Lua back into Lua; keep a LuaRef to it instead")
        }
    }

    /// Pushes a copy of the value at `index` (for a table or function: the same object).
    public func pushValue(at index: Int32) { lua_pushvalue(L, index) }

    // MARK: Reading

    /// The integer at `index`, converted as Lua's C API converts: an integer, a float with an exact
    /// integer value, or a string holding one. nil otherwise.
    public func integer(at index: Int32) -> Int64? {
        var isNumber: Int32 = 0
        let i = loom_tointegerx(L, index, &isNumber)
        return isNumber != 0 ? i : nil
    }

    /// The number at `index` as a Double (numbers, and strings holding one), or nil.
    public func number(at index: Int32) -> Double? {
        var isNumber: Int32 = 0
        let d = loom_tonumberx(L, index, &isNumber)
        return isNumber != 0 ? d : nil
    }

    /// The boolean at `index`, or nil when it is not a boolean.
    public func boolean(at index: Int32) -> Bool? {
        lua_type(L, index) == LUA_TBOOLEAN ? lua_toboolean(L, index) != 0 : nil
    }

    /// The bytes of the string at `index`, or nil when it is not a string (numbers are not
    /// converted: that would change the stack slot).
    public func withBytes<R>(at index: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let p = loom_tolstring(L, index, &length) else { return nil }
        return try body(UnsafeRawBufferPointer(start: p, count: length))
    }

    /// The string at `index` as text (invalid UTF-8 is replaced), or nil when it is not a string.
    public func string(at index: Int32) -> String? {
        withBytes(at: index) { String(decoding: $0, as: UTF8.self) }
    }

    /// The string at `index` as bytes, or nil.
    public func luaString(at index: Int32) -> LuaString? {
        withBytes(at: index) { LuaString(bytes: Array($0)) }
    }

    /// A deep copy of the value at `index`. Tables are read raw (no metamethod runs); a cycle, a
    /// nesting deeper than `maxDepth`, or a copy larger than `maxBytes` is a `conversion` error
    /// naming the path.
    ///
    /// The size counts 16 bytes per value plus the bytes of every string, each time it is reached:
    /// a table reachable through several fields is a tree of copies to whoever reads the result
    /// (an encoder, a printer), so `t = {t, t}` sixty times, a few kilobytes in Lua, is 2^60
    /// values. Each table is read once (a shared table's copy is shared, Swift values being
    /// copy-on-write) and its size remembered, so such a value is refused after reading a few dozen
    /// tables. The default bound is the VM's memory cap (at least 16 MiB; 256 MiB for a VM without
    /// a cap), which an honest, tree-shaped value never exceeds.
    public func value(at index: Int32, maxDepth: Int = 100, maxBytes: Int? = nil, path: String = "value") throws(LuaError) -> LuaValue {
        var copy = Copy(maxDepth: maxDepth, budget: maxBytes ?? LuaStack.copyLimit(memoryCap: Int(loom_memory_limit(L))))
        return try read(lua_absindex(L, index), path: path, depth: 0, copy: &copy).value
    }

    /// The default bound of a copy out of a VM whose memory cap is `memoryCap` bytes (0: no cap).
    public static func copyLimit(memoryCap: Int) -> Int {
        memoryCap == 0 ? 256 << 20 : max(memoryCap, 16 << 20)
    }

    /// What a copy in progress keeps: the tables on the current path (cycles), the tables already
    /// read with their copy, size and height, and the bytes left.
    private struct Copy {
        struct Done { var value: LuaValue; var size: Int; var height: Int }
        var maxDepth: Int
        var budget: Int
        var visiting: Set<UnsafeRawPointer> = []
        var done: [UnsafeRawPointer: Done] = [:]
    }

    /// Reads one value: its copy, its size (as counted against the budget) and its height.
    private func read(_ index: Int32, path: @autoclosure () -> String, depth: Int,
                      copy: inout Copy) throws(LuaError) -> Copy.Done {
        let scalar: LuaValue
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: scalar = .nil
        case LUA_TBOOLEAN: scalar = .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            scalar = loom_isinteger(L, index) != 0 ? .integer(loom_tointegerx(L, index, nil)) : .number(loom_tonumberx(L, index, nil))
        case LUA_TSTRING:
            let string = luaString(at: index) ?? LuaString(bytes: [])
            let size = 16 + string.bytes.count
            try spend(size, &copy, path())
            return Copy.Done(value: .string(string), size: size, height: 0)
        case LUA_TTABLE:
            guard let identity = lua_topointer(L, index) else { return Copy.Done(value: .nil, size: 16, height: 0) }
            if let done = copy.done[identity] {
                guard depth + done.height < copy.maxDepth else { throw tooDeep(copy.maxDepth, path()) }
                try spend(done.size, &copy, path())
                return done
            }
            guard depth < copy.maxDepth else { throw tooDeep(copy.maxDepth, path()) }
            guard copy.visiting.insert(identity).inserted else {
                throw LuaError(kind: .conversion, message: "table contains a cycle at \(path())")
            }
            defer { copy.visiting.remove(identity) }
            try spend(16, &copy, path())
            try reserve(4)
            var table = LuaTable()
            var size = 16, height = 0
            lua_pushnil(L)
            while lua_next(L, index) != 0 {
                let keyIndex = lua_gettop(L) - 1
                do {
                    let key = try read(keyIndex, path: path() + "[key]", depth: depth + 1, copy: &copy)
                    let value = try read(keyIndex + 1, path: path() + LuaStack.pathComponent(key.value), depth: depth + 1,
                                         copy: &copy)
                    table[key.value] = value.value
                    size += key.size + value.size
                    height = max(height, key.height + 1, value.height + 1)
                } catch {
                    lua_settop(L, keyIndex - 1)
                    throw error
                }
                loom_pop(L, 1)
            }
            let done = Copy.Done(value: .table(table), size: size, height: height)
            copy.done[identity] = done
            return done
        default:
            let type = LuaType(rawValue: lua_type(L, index)) ?? .none
            let address = UInt(bitPattern: lua_topointer(L, index))
            scalar = .opaque(LuaOpaque(typeName: type.name, address: address))
        }
        try spend(16, &copy, path())
        return Copy.Done(value: scalar, size: 16, height: 0)
    }

    private func spend(_ bytes: Int, _ copy: inout Copy, _ path: @autoclosure () -> String) throws(LuaError) {
        copy.budget -= bytes
        if copy.budget < 0 {
            throw LuaError(kind: .conversion, message: "value too large to copy out of Lua at \(path()) (a table reached "
                           + "through several fields counts once for each; send or store a smaller value)")
        }
    }

    private func tooDeep(_ maxDepth: Int, _ path: String) -> LuaError {
        LuaError(kind: .conversion, message: "table nested deeper than \(maxDepth) levels at \(path)")
    }

    /// How a key extends a path in messages: `.name` for identifiers, `[key]` otherwise.
    public static func pathComponent(_ key: LuaValue) -> String {
        if case .string(let s) = key, let name = s.string, LuaTable.isIdentifier(name) { return "." + name }
        return "[" + key.debugDescription + "]"
    }

    /// Turns a failed protected operation's status into a thrown error (popping the error value).
    package func check(_ status: Int32) throws(LuaError) {
        guard status != LUA_OK else { return }
        let message = string(at: -1) ?? "error object is a \(type(at: -1).name) value"
        loom_pop(L, 1)
        throw LuaError(kind: status == LUA_ERRMEM ? .memory : .runtime, message: message)
    }
}

@available(*, unavailable)
extension LuaStack: Sendable {}
