/// A Lua value copied into Swift.
///
/// Integers and floats stay apart (`.integer(1)` is not `.number(1.0)`), strings are bytes, and
/// tables are deep copies. Values that cannot be copied (functions, userdata, threads) appear as
/// `.opaque`, which records what they were but cannot be pushed back; hold a ``LuaRef`` to keep
/// such a value alive and use it.
///
/// ```swift
/// let v: LuaValue = ["id": 7, "tags": ["x", "y"]]    // a table, from literals
/// v.table?["id"].integer                              // 7
/// v.debugDescription                                  // {id = 7, tags = {"x", "y"}}
/// ```
public enum LuaValue: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Lua's nil; in a table it means "no key".
    case `nil`
    /// `true` or `false`.
    case boolean(Bool)
    /// A Lua integer (subtype of number).
    case integer(Int64)
    /// A Lua float (subtype of number).
    case number(Double)
    /// A Lua string, as bytes.
    case string(LuaString)
    /// A table, as a value: a deep copy when it comes out of Lua (read raw, no metamethods).
    case table(LuaTable)
    /// A function, userdata or thread: recorded, but cannot be pushed back into Lua.
    case opaque(LuaOpaque)

    /// The Lua type name: "nil", "boolean", "number", "string", "table", "function", ...
    public var typeName: String {
        switch self {
        case .nil: "nil"
        case .boolean: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .table: "table"
        case .opaque(let o): o.typeName
        }
    }

    /// Whether the value is nil.
    public var isNil: Bool { if case .nil = self { true } else { false } }

    /// The integer, also from a float with an exact integer value (as Lua converts).
    public var integer: Int64? {
        switch self {
        case .integer(let i): i
        case .number(let d): Int64(exactly: d)
        default: nil
        }
    }

    /// The number as a Double, from an integer or a float.
    public var number: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    /// The boolean, or nil for any other value (no truthiness; see ``isTruthy``).
    public var boolean: Bool? { if case .boolean(let b) = self { b } else { nil } }
    /// The string's bytes, or nil when the value is not a string (numbers are not converted).
    public var luaString: LuaString? { if case .string(let s) = self { s } else { nil } }
    /// The string as text when it is valid UTF-8.
    public var string: String? { luaString?.string }
    /// The table, or nil when the value is not a table.
    public var table: LuaTable? { if case .table(let t) = self { t } else { nil } }

    /// Lua's truth: everything but nil and false.
    public var isTruthy: Bool {
        switch self {
        case .nil, .boolean(false): false
        default: true
        }
    }

    /// Like Lua's `tostring` for plain values; tables print as constructors.
    public var description: String {
        switch self {
        case .string(let s): s.description
        default: debugDescription
        }
    }

    /// A Lua literal: strings quoted, tables as `{1, 2, key = "v"}` with sorted keys.
    public var debugDescription: String {
        switch self {
        case .nil: "nil"
        case .boolean(let b): b ? "true" : "false"
        case .integer(let i): String(i)
        case .number(let d): LuaValue.format(d)
        case .string(let s): s.debugDescription
        case .table(let t): t.debugDescription
        case .opaque(let o): o.description
        }
    }

    /// Formats a float the way Lua 5.4 does: `%.14g`, with `.0` added to integral values.
    static func format(_ d: Double) -> String {
        if d.isNaN { return d.sign == .minus ? "-nan" : "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e15 {
            return String(Int64(d)) + ".0"
        }
        var s = "\(d)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}

extension LuaValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` is `.nil`.
    public init(nilLiteral: ()) { self = .nil }
    /// `true` and `false` are `.boolean`.
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    /// An integer literal is `.integer`.
    public init(integerLiteral value: Int64) { self = .integer(value) }
    /// A float literal is `.number`.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// A string literal is `.string` with its UTF-8 bytes.
    public init(stringLiteral value: String) { self = .string(LuaString(value)) }
    /// An array literal is a sequence table keyed from 1, as ``LuaTable/init(array:)`` builds it.
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
    /// A dictionary literal is a table; a later duplicate key wins, nil keys and values are dropped.
    public init(dictionaryLiteral elements: (LuaValue, LuaValue)...) {
        var t = LuaTable()
        for (k, v) in elements { t[k] = v }
        self = .table(t)
    }
}

/// A Lua value that cannot be copied into Swift: a function, userdata, thread or light userdata.
public struct LuaOpaque: Sendable, Hashable, CustomStringConvertible {
    /// The Lua type name.
    public var typeName: String
    /// The address Lua prints for it; only meaningful while the value lives.
    public var address: UInt

    /// Records a value of type `typeName` at `address`.
    public init(typeName: String, address: UInt) {
        self.typeName = typeName
        self.address = address
    }

    /// `type: 0xADDRESS`, the way Lua's `tostring` prints such values.
    public var description: String { "\(typeName): 0x" + String(address, radix: 16) }
}
