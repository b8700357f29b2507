/// A deep copy of a Lua table: the sequence `t[1]...t[n]` in `array`, every other key in `hash`.
///
/// Keys follow Lua's rules: a float key with an integer value is the integer key, and nil is
/// never a key. Setting a value to nil removes the key.
///
/// ```swift
/// var t = LuaTable(array: ["a", "b"])
/// t["name"] = "loom"
/// t[3] = "c"                       // continues the sequence: array is ["a", "b", "c"]
/// t[2.0] = nil                     // 2.0 is the key 2: array is ["a"], 3 moves to hash
/// ```
///
/// A `LuaTable` is a value: it does not alias the Lua table it was copied from.
public struct LuaTable: Sendable, Hashable, CustomDebugStringConvertible {
    /// `t[1]` to `t[array.count]`, none of them nil.
    public private(set) var array: [LuaValue]
    /// Every other key.
    public private(set) var hash: [LuaValue: LuaValue]

    /// An empty table.
    public init() {
        array = []
        hash = [:]
    }

    /// The sequence `{array[0], array[1], ...}`, keyed from 1. A nil element ends the sequence there:
    /// later elements move to ``hash``, as they would in Lua.
    public init(array: [LuaValue]) {
        self.init()
        for (i, v) in array.enumerated() { self[.integer(Int64(i + 1))] = v }
    }

    /// A table of the given pairs, keys normalized as the `LuaValue` subscript does; nil keys and
    /// values are dropped.
    public init(_ pairs: [LuaValue: LuaValue]) {
        self.init()
        for (k, v) in pairs { self[k] = v }
    }

    /// The number of keys.
    public var count: Int { array.count + hash.count }
    /// Whether the table has no keys.
    public var isEmpty: Bool { count == 0 }

    /// Lua's key normalisation: floats with an exact integer value become integers.
    static func normalize(_ key: LuaValue) -> LuaValue {
        if case .number(let d) = key, let i = Int64(exactly: d) { return .integer(i) }
        return key
    }

    /// `t[key]`, raw: nil for a missing key. Setting nil removes the key; setting under a nil or NaN key
    /// does nothing (Lua would raise). Keys continuing the sequence move between ``array`` and ``hash``
    /// so that ``array`` is always the longest prefix `1...n` without nil.
    public subscript(key: LuaValue) -> LuaValue {
        get {
            let key = LuaTable.normalize(key)
            if case .integer(let i) = key, i >= 1, i <= Int64(array.count) { return array[Int(i - 1)] }
            return hash[key] ?? .nil
        }
        set {
            let key = LuaTable.normalize(key)
            if key.isNil { return }
            if case .number(let d) = key, d.isNaN { return }
            if case .integer(let i) = key, i >= 1, i <= Int64(array.count) + 1 {
                let index = Int(i - 1)
                if newValue.isNil {
                    if index < array.count {
                        // Move the tail into the hash part: the sequence ends before this key.
                        for j in (index + 1)..<array.count { hash[.integer(Int64(j + 1))] = array[j] }
                        array.removeSubrange(index...)
                    }
                    return
                }
                if index < array.count {
                    array[index] = newValue
                } else {
                    array.append(newValue)
                    // Pull following keys out of the hash part while they continue the sequence.
                    var next = Int64(array.count + 1)
                    while let v = hash.removeValue(forKey: .integer(next)) {
                        array.append(v)
                        next += 1
                    }
                }
                return
            }
            if newValue.isNil { hash.removeValue(forKey: key) } else { hash[key] = newValue }
        }
    }

    /// `t[key]` for a string key.
    public subscript(key: String) -> LuaValue {
        get { self[.string(LuaString(key))] }
        set { self[.string(LuaString(key))] = newValue }
    }

    /// `t[index]` for an integer key.
    public subscript(index: Int) -> LuaValue {
        get { self[.integer(Int64(index))] }
        set { self[.integer(Int64(index))] = newValue }
    }

    /// Every key and value: the sequence in order, then the other keys in a stable order
    /// (by type, then value).
    public var entries: [(key: LuaValue, value: LuaValue)] {
        var out: [(key: LuaValue, value: LuaValue)] = array.enumerated().map { (.integer(Int64($0.offset + 1)), $0.element) }
        out += hash.sorted { LuaTable.keyOrder($0.key, $1.key) }.map { ($0.key, $0.value) }
        return out
    }

    static func keyOrder(_ a: LuaValue, _ b: LuaValue) -> Bool {
        func rank(_ v: LuaValue) -> Int {
            switch v {
            case .integer, .number: 0
            case .string: 1
            case .boolean: 2
            default: 3
            }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb }
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y
        case (.boolean(let x), .boolean(let y)): return !x && y
        // Numbers by value, exactly: through Double, integers past 2^53 would compare equal and
        // the order (so the encoded bytes) would follow the dictionary's. A float key never equals
        // an integer key (an integral float is normalized to an integer).
        case (.integer(let x), .integer(let y)): return x < y
        case (.number(let x), .number(let y)): return x < y
        case (.integer(let x), .number(let y)): return LuaTable.less(x, than: y)
        case (.number(let x), .integer(let y)): return !LuaTable.less(y, than: x)
        default:
            return a.debugDescription < b.debugDescription
        }
    }

    /// Whether the integer `i` is below the float `d`, exactly.
    static func less(_ i: Int64, than d: Double) -> Bool {
        if d.isNaN { return false }
        if d >= 0x1p63 { return true }
        if d < -0x1p63 { return false }
        let floor = d.rounded(.down)
        let f = Int64(floor)   // exact: |floor| < 2^63
        return i < f || (i == f && d > floor)
    }

    /// A Lua table constructor: the sequence first, then the other keys in ``entries`` order, identifiers
    /// as `name = value` and other keys as `[key] = value`.
    public var debugDescription: String {
        if isEmpty { return "{}" }
        var parts: [String] = array.map(\.debugDescription)
        for (k, v) in hash.sorted(by: { LuaTable.keyOrder($0.key, $1.key) }) {
            if case .string(let s) = k, let name = s.string, LuaTable.isIdentifier(name) {
                parts.append("\(name) = \(v.debugDescription)")
            } else {
                parts.append("[\(k.debugDescription)] = \(v.debugDescription)")
            }
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
        "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == UInt8(ascii: "_") || (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z") else { return false }
        for c in s.utf8 {
            let ok = c == UInt8(ascii: "_") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || ((c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z"))
            if !ok { return false }
        }
        return !keywords.contains(s)
    }
}
