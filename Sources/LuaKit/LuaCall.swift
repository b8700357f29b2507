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

    public func integer(_ index: Int32) throws(LuaError) -> Int64 {
        if let i = stack.integer(at: index) { return i }
        if stack.type(at: index) == .number { throw argumentError(index, "number has no integer representation") }
        throw typeError(index, expected: "number")
    }

    public func number(_ index: Int32) throws(LuaError) -> Double {
        guard let d = stack.number(at: index) else { throw typeError(index, expected: "number") }
        return d
    }

    public func boolean(_ index: Int32) throws(LuaError) -> Bool {
        guard let b = stack.boolean(at: index) else { throw typeError(index, expected: "boolean") }
        return b
    }

    /// The string argument as text (invalid UTF-8 replaced).
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

    public func optionalInteger(_ index: Int32) throws(LuaError) -> Int64? {
        isAbsent(index) ? nil : try integer(index)
    }

    public func optionalNumber(_ index: Int32) throws(LuaError) -> Double? {
        isAbsent(index) ? nil : try number(index)
    }

    public func optionalString(_ index: Int32) throws(LuaError) -> String? {
        isAbsent(index) ? nil : try string(index)
    }

    public func optionalBoolean(_ index: Int32) throws(LuaError) -> Bool? {
        isAbsent(index) ? nil : try boolean(index)
    }

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
