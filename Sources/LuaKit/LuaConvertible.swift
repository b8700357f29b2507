internal import CLuaShim

/// A Swift value that can be pushed onto a Lua stack.
public protocol LuaPushable {
    /// Pushes the value onto the stack.
    func push(onto stack: LuaStack) throws(LuaError)
}

/// A Swift type that can be read from a Lua stack.
public protocol LuaReadable {
    /// Reads a value from the stack; throws a `conversion` error naming the expected type.
    static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> Self
    /// The Lua type name used in messages ("integer", "string", ...).
    static var luaTypeName: String { get }
}

/// A Swift type that crosses into and out of Lua without going through ``LuaValue``.
///
/// The typed call paths (``LuaRef/call(_:as:)``, ``LuaCall/results(_:)``) use it to avoid
/// allocating. Conformances: `Bool`, `Int`, `Int64`, `Double`, `String`, ``LuaString``,
/// ``LuaValue``, ``LuaTable``, and `Optional` of any of them. ``LuaRef`` is ``LuaPushable``.
public typealias LuaConvertible = LuaPushable & LuaReadable

extension LuaReadable {
    static func mismatch(_ stack: LuaStack, _ index: Int32) -> LuaError {
        LuaError(kind: .conversion, message: "\(luaTypeName) expected, got \(stack.type(at: index).name)")
    }
}

/// Pushed as a Lua integer; read from an integer, an integral float or a numeric string.
extension Int64: LuaPushable, LuaReadable {
    /// Pushes the integer.
    public func push(onto stack: LuaStack) { stack.push(self) }
    /// Reads an integer: an integer, a float with an exact integer value, or a string holding one.
    /// - Throws: `conversion` for a float with no integer value (`1.5`) or any other value.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> Int64 {
        guard let i = stack.integer(at: index) else {
            if stack.type(at: index) == .number {
                throw LuaError(kind: .conversion, message: "number has no integer representation")
            }
            throw mismatch(stack, index)
        }
        return i
    }
    /// The name used in messages: `integer`.
    public static var luaTypeName: String { "integer" }
}

/// Pushed and read as ``Int64`` (Int is 64-bit on the platforms Loom supports).
extension Int: LuaPushable, LuaReadable {
    /// Pushes the integer.
    public func push(onto stack: LuaStack) { stack.push(Int64(self)) }
    /// Reads as ``Int64`` does, with the same `conversion` errors.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> Int {
        Int(try Int64.read(from: stack, at: index))
    }
    /// The name used in messages: `integer`.
    public static var luaTypeName: String { "integer" }
}

/// Pushed as a Lua float; read from any number or numeric string.
extension Double: LuaPushable, LuaReadable {
    /// Pushes the float (a Lua float, even when it has an integer value).
    public func push(onto stack: LuaStack) { stack.push(self) }
    /// Reads any number, or a string holding one, as a Double; anything else throws `conversion`.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> Double {
        guard let d = stack.number(at: index) else { throw mismatch(stack, index) }
        return d
    }
    /// The name used in messages: `number`.
    public static var luaTypeName: String { "number" }
}

/// Read only from a Lua boolean: nil and other values are a `conversion` error, not `false`.
extension Bool: LuaPushable, LuaReadable {
    /// Pushes the boolean.
    public func push(onto stack: LuaStack) { stack.push(self) }
    /// Reads a boolean; anything else, nil included, throws `conversion`.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> Bool {
        guard let b = stack.boolean(at: index) else { throw mismatch(stack, index) }
        return b
    }
    /// The name used in messages: `boolean`.
    public static var luaTypeName: String { "boolean" }
}

/// Pushed as its UTF-8 bytes; read from a Lua string only (numbers are not converted), with invalid
/// UTF-8 replaced by U+FFFD.
extension String: LuaPushable, LuaReadable {
    /// Pushes the UTF-8 bytes as a Lua string.
    /// - Throws: `memory` when the VM's cap refuses the string.
    public func push(onto stack: LuaStack) throws(LuaError) { try stack.push(self) }
    /// Reads a Lua string as text, invalid UTF-8 replaced by U+FFFD; anything else, numbers included,
    /// throws `conversion`.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> String {
        guard let s = stack.string(at: index) else { throw mismatch(stack, index) }
        return s
    }
    /// The name used in messages: `string`.
    public static var luaTypeName: String { "string" }
}

/// Pushed and read as the exact bytes; read from a Lua string only.
extension LuaString: LuaPushable, LuaReadable {
    /// Pushes the bytes as a Lua string.
    /// - Throws: `memory` when the VM's cap refuses the string.
    public func push(onto stack: LuaStack) throws(LuaError) { try stack.push(self) }
    /// Reads a Lua string's exact bytes; anything else, numbers included, throws `conversion`.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> LuaString {
        guard let s = stack.luaString(at: index) else { throw mismatch(stack, index) }
        return s
    }
    /// The name used in messages: `string`.
    public static var luaTypeName: String { "string" }
}

/// Pushed as a copy (tables built afresh, `.opaque` refused); read as a deep copy under the bounds of
/// ``LuaStack/value(at:maxDepth:maxBytes:path:)``.
extension LuaValue: LuaPushable, LuaReadable {
    /// Pushes a copy of the value.
    /// - Throws: `conversion` for `.opaque`; `memory` when the VM's cap refuses an allocation.
    public func push(onto stack: LuaStack) throws(LuaError) { try stack.push(self) }
    /// Reads a deep copy of any value, with the default bounds of ``LuaStack/value(at:maxDepth:maxBytes:path:)``.
    /// - Throws: `conversion` for a cycle, a nesting deeper than 100 tables, or a copy larger than
    ///   ``LuaStack/copyLimit(memoryCap:)`` of the VM's memory cap.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> LuaValue {
        try stack.value(at: index)
    }
    /// The name used in messages: `value` (any Lua type is accepted).
    public static var luaTypeName: String { "value" }
}

/// Pushed as a new Lua table; read from a table only, as a deep copy (raw, no metamethods).
extension LuaTable: LuaPushable, LuaReadable {
    /// Pushes a new Lua table holding a copy of the entries.
    /// - Throws: `conversion` for an `.opaque` value inside; `memory` when the VM's cap refuses an allocation.
    public func push(onto stack: LuaStack) throws(LuaError) { try stack.push(LuaValue.table(self)) }
    /// Reads a deep copy of a table (raw, no metamethods), with the bounds of ``LuaValue``'s `read`;
    /// anything else throws `conversion`.
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> LuaTable {
        guard stack.type(at: index) == .table, case .table(let t) = try stack.value(at: index) else {
            throw mismatch(stack, index)
        }
        return t
    }
    /// The name used in messages: `table`.
    public static var luaTypeName: String { "table" }
}

/// `nil` is pushed as Lua's nil.
extension Optional: LuaPushable where Wrapped: LuaPushable {
    /// Pushes nil for `nil`, else the wrapped value (with its errors).
    public func push(onto stack: LuaStack) throws(LuaError) {
        switch self {
        case .none: stack.pushNil()
        case .some(let w): try w.push(onto: stack)
        }
    }
}

/// Lua's nil, or a missing value, reads as `nil`; anything else must read as `Wrapped`.
extension Optional: LuaReadable where Wrapped: LuaReadable {
    /// Reads nil, or an index past the top of the stack, as `nil`; anything else as `Wrapped` (with its errors).
    public static func read(from stack: LuaStack, at index: Int32) throws(LuaError) -> Wrapped? {
        let t = stack.type(at: index)
        if t == .nil || t == .none { return nil }
        return try Wrapped.read(from: stack, at: index)
    }
    /// The wrapped type's name followed by ` or nil`, e.g. `integer or nil`.
    public static var luaTypeName: String { Wrapped.luaTypeName + " or nil" }
}
