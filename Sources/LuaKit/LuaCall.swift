internal import CLuaShim

/// The arguments of a call from Lua into a Swift host function, and the way to return results.
///
/// Accessors check types the way Lua's auxiliary library does and throw errors that read like
/// Lua's own: `bad argument #1 to 'add' (number expected, got string)`.
///
/// ```swift
/// let add = try lua.function("add") { call in
///     let a = try call.integer(1), b = try call.integer(2)
///     return try call.results(a + b)
/// }
/// ```
public struct LuaCall {
    /// The stack of the calling Lua thread: arguments are at 1...argumentCount.
    public let stack: LuaStack
    /// The function being called; alive for the whole call (Lua holds it).
    unowned(unsafe) let function: HostFunctionBox

    /// The function's name, used in error messages.
    public var name: String { function.name }

    init(stack: LuaStack, function: HostFunctionBox) {
        self.stack = stack
        self.function = function
    }

    /// The number of arguments passed.
    public var argumentCount: Int32 { stack.top }

    /// The count of results a host function returns; build it with ``results(_:)``.
    public struct Results {
        let count: Int32
    }

    /// An error for argument `index` in Lua's wording.
    public func argumentError(_ index: Int32, _ message: String) -> LuaError {
        LuaError(kind: .runtime, message: "bad argument #\(index) to '\(name)' (\(message))")
    }

    private func typeError(_ index: Int32, expected: String) -> LuaError {
        argumentError(index, "\(expected) expected, got \(index > argumentCount ? "no value" : stack.type(at: index).name)")
    }

    /// The argument at `index` as an integer: an integer, a float with an exact integer value, or a string
    /// holding one (Lua's `luaL_checkinteger`).
    /// - Throws: a `runtime` error in Lua's wording when the argument is missing, not a number, or a float
    ///   with a fractional part ("number has no integer representation").
    public func integer(_ index: Int32) throws(LuaError) -> Int64 {
        if let i = stack.integer(at: index) { return i }
        if stack.type(at: index) == .number { throw argumentError(index, "number has no integer representation") }
        throw typeError(index, expected: "number")
    }

    /// The argument at `index` as a Double: a number, or a string holding one (`luaL_checknumber`).
    /// - Throws: a `runtime` error in Lua's wording when it is neither.
    public func number(_ index: Int32) throws(LuaError) -> Double {
        guard let d = stack.number(at: index) else { throw typeError(index, expected: "number") }
        return d
    }

    /// The argument at `index`, which must be `true` or `false` (no truthiness: nil is refused).
    /// - Throws: a `runtime` error in Lua's wording when it is not a boolean.
    public func boolean(_ index: Int32) throws(LuaError) -> Bool {
        guard let b = stack.boolean(at: index) else { throw typeError(index, expected: "boolean") }
        return b
    }

    /// The string argument as text (invalid UTF-8 replaced by U+FFFD). Unlike Lua's
    /// `luaL_checkstring`, a number is refused, not converted.
    public func string(_ index: Int32) throws(LuaError) -> String {
        guard let s = stack.string(at: index) else { throw typeError(index, expected: "string") }
        return s
    }

    /// The string argument as bytes.
    public func luaString(_ index: Int32) throws(LuaError) -> LuaString {
        guard let s = stack.luaString(at: index) else { throw typeError(index, expected: "string") }
        return s
    }

    /// A deep copy of any argument (tables read raw).
    public func value(_ index: Int32) throws(LuaError) -> LuaValue {
        do {
            return try stack.value(at: index)
        } catch {
            throw argumentError(index, error.message)
        }
    }

    /// The table argument, copied.
    public func table(_ index: Int32) throws(LuaError) -> LuaTable {
        guard stack.type(at: index) == .table else { throw typeError(index, expected: "table") }
        guard case .table(let t) = try value(index) else { throw typeError(index, expected: "table") }
        return t
    }

    /// The argument at `index` as an integer, or nil when it is nil or absent; any other value is checked
    /// as ``integer(_:)`` checks it.
    public func optionalInteger(_ index: Int32) throws(LuaError) -> Int64? {
        isAbsent(index) ? nil : try integer(index)
    }

    /// The argument at `index` as a Double, or nil when it is nil or absent; otherwise as ``number(_:)``.
    public func optionalNumber(_ index: Int32) throws(LuaError) -> Double? {
        isAbsent(index) ? nil : try number(index)
    }

    /// The argument at `index` as text, or nil when it is nil or absent; otherwise as ``string(_:)``.
    public func optionalString(_ index: Int32) throws(LuaError) -> String? {
        isAbsent(index) ? nil : try string(index)
    }

    /// The argument at `index` as a boolean, or nil when it is nil or absent; otherwise as ``boolean(_:)``.
    public func optionalBoolean(_ index: Int32) throws(LuaError) -> Bool? {
        isAbsent(index) ? nil : try boolean(index)
    }

    /// Whether the argument at `index` is nil or was not passed at all.
    public func isAbsent(_ index: Int32) -> Bool {
        let t = stack.type(at: index)
        return t == .nil || t == .none
    }

    /// A typed argument of any ``LuaConvertible`` type.
    public func argument<T: LuaReadable>(_ index: Int32, as type: T.Type = T.self) throws(LuaError) -> T {
        do {
            return try T.read(from: stack, at: index)
        } catch {
            throw argumentError(index, error.message)
        }
    }

    /// Returns no results.
    public func results() -> Results { Results(count: 0) }

    /// Pushes one result and returns the count (the common case, fully specialized).
    public func results<T: LuaPushable>(_ value: T) throws(LuaError) -> Results {
        try value.push(onto: stack)
        return Results(count: 1)
    }

    /// Pushes two results and returns the count.
    public func results<T: LuaPushable, U: LuaPushable>(_ first: T, _ second: U) throws(LuaError) -> Results {
        try first.push(onto: stack)
        try second.push(onto: stack)
        return Results(count: 2)
    }

    /// Pushes the results and returns their count.
    public func results<each T: LuaPushable>(_ values: repeat each T) throws(LuaError) -> Results {
        var count: Int32 = 0
        for value in repeat each values {
            count += 1
            if count > 16 { try stack.reserve(1) }
            try value.push(onto: stack)
        }
        return Results(count: count)
    }

    /// Pushes a list of values and returns their count.
    public func results(list values: [LuaValue]) throws(LuaError) -> Results {
        try stack.reserve(Int32(clamping: values.count))
        for value in values { try stack.push(value) }
        return Results(count: Int32(values.count))
    }
}

@available(*, unavailable)
extension LuaCall: Sendable {}

@available(*, unavailable)
extension LuaCall.Results: Sendable {}
