/// A Lua value copied into Swift.
///
/// Integers and floats stay apart (`.integer(1)` is not `.number(1.0)`), strings are bytes, and
/// tables are deep copies. Values that cannot be copied (functions, userdata, threads) appear as
/// `.opaque`, which records what they were but cannot be pushed back; hold a ``LuaRef`` to keep
/// such a value alive and use it.
public enum LuaValue: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string(LuaString)
    case table(LuaTable)
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

    public var boolean: Bool? { if case .boolean(let b) = self { b } else { nil } }
    public var luaString: LuaString? { if case .string(let s) = self { s } else { nil } }
    /// The string as text when it is valid UTF-8.
    public var string: String? { luaString?.string }
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
    public init(nilLiteral: ()) { self = .nil }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(stringLiteral value: String) { self = .string(LuaString(value)) }
    public init(arrayLiteral elements: LuaValue...) { self = .table(LuaTable(array: elements)) }
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

    public init(typeName: String, address: UInt) {
        self.typeName = typeName
        self.address = address
    }

    public var description: String { "\(typeName): 0x" + String(address, radix: 16) }
}
