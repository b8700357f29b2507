/// The binary form of a ``LuaValue``: Loom's format for stored agent state (with an `LST1`
/// header, see `StateCodec` in LoomRuntime).
///
/// A value is a tag byte and a payload:
///
/// | tag | value | payload |
/// | --- | --- | --- |
/// | 0 | nil | — |
/// | 1 | false | — |
/// | 2 | true | — |
/// | 3 | integer | 8 bytes, two's complement, little-endian |
/// | 4 | float | 8 bytes, IEEE 754 binary64 bits, little-endian |
/// | 5 | string | length as an unsigned LEB128, then the bytes |
/// | 6 | table | entry count as an unsigned LEB128, then each key and value |
public enum LuaValueCodec: Sendable {
    /// Why a value could not be encoded or decoded, in words fit for a user.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// The reason, naming the path of the offending value when encoding.
        public var message: String
        /// Makes a failure with `message`.
        public init(_ message: String) { self.message = message }
        /// The message.
        public var description: String { message }
    }

    /// Appends `value`. Table entries are written in a fixed order (the sequence, then keys by type
    /// and value), so equal tables give equal bytes. `.opaque` values fail, naming their path.
    public static func encode(_ value: LuaValue, into out: inout [UInt8], path: String = "value") throws(Failure) {
        switch value {
        case .nil: out.append(0)
        case .boolean(let b): out.append(b ? 2 : 1)
        case .integer(let i):
            out.append(3)
            withUnsafeBytes(of: i.littleEndian) { out.append(contentsOf: $0) }
        case .number(let d):
            out.append(4)
            withUnsafeBytes(of: d.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case .string(let s):
            out.append(5)
            leb(UInt64(s.bytes.count), into: &out)
            out.append(contentsOf: s.bytes)
        case .table(let t):
            out.append(6)
            leb(UInt64(t.count), into: &out)
            for (k, v) in t.entries {
                let child = path + LuaStack.pathComponent(k)
                try encode(k, into: &out, path: child + "[key]")
                try encode(v, into: &out, path: child)
            }
        case .opaque(let o):
            throw Failure("cannot store \(path): a \(o.typeName) (only nil, booleans, numbers, strings and tables can be stored)")
        }
    }

    static func leb(_ n: UInt64, into out: inout [UInt8]) {
        var n = n
        repeat {
            var byte = UInt8(n & 0x7F)
            n >>= 7
            if n != 0 { byte |= 0x80 }
            out.append(byte)
        } while n != 0
    }

    /// Reads one value at `at`, advancing it past the value.
    /// - Throws: a ``Failure`` for bytes that end early, an unknown tag, a length past the end, or
    ///   tables nested 200 deep.
    public static func decode(_ b: [UInt8], at: inout Int, depth: Int = 0) throws(Failure) -> LuaValue {
        guard depth < 200 else { throw Failure("stored value nests deeper than 200 tables") }
        guard at < b.count else { throw Failure("stored value ends early") }
        let tag = b[at]
        at += 1
        func fixed() throws(Failure) -> UInt64 {
            guard at + 8 <= b.count else { throw Failure("stored value ends early") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }
        func length() throws(Failure) -> Int {
            var n: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < b.count, shift < 64 else { throw Failure("stored value has a bad length") }
                let byte = b[at]
                at += 1
                n |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            guard n <= UInt64(b.count) else { throw Failure("stored value has a length past its end") }
            return Int(n)
        }
        switch tag {
        case 0: return .nil
        case 1: return .boolean(false)
        case 2: return .boolean(true)
        case 3: return .integer(Int64(bitPattern: try fixed()))
        case 4: return .number(Double(bitPattern: try fixed()))
        case 5:
            let n = try length()
            guard at + n <= b.count else { throw Failure("stored value ends early") }
            defer { at += n }
            return .string(LuaString(bytes: Array(b[at..<(at + n)])))
        case 6:
            let n = try length()
            var t = LuaTable()
            for _ in 0..<n {
                let k = try decode(b, at: &at, depth: depth + 1)
                let v = try decode(b, at: &at, depth: depth + 1)
                t[k] = v
            }
            return .table(t)
        default:
            throw Failure("stored value has an unknown tag \(tag)")
        }
    }
}
