public import LuaKit

/// The persisted form of an agent's `state` table (and of any Lua data Loom stores).
///
/// Format, version 1: the four bytes `LST1`, then one value. A value is a tag byte and a payload:
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
///
/// Table entries are written in a stable order (the sequence part, then keys by type and value),
/// so the same table always gives the same bytes. Functions, userdata and threads cannot be
/// stored: encoding fails with the path of the value, as does a cycle.
public enum StateCodec: Sendable {
    public static let magic: [UInt8] = Array("LST1".utf8)

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public static func encode(_ value: LuaValue, path: String = "state") throws(Failure) -> [UInt8] {
        var out = magic
        try write(value, into: &out, path: path)
        return out
    }

    static func write(_ value: LuaValue, into out: inout [UInt8], path: String) throws(Failure) {
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
            let entries = t.entries
            leb(UInt64(entries.count), into: &out)
            for (k, v) in entries {
                let child = path + pathComponent(k)
                try write(k, into: &out, path: child + "[key]")
                try write(v, into: &out, path: child)
            }
        case .opaque(let o):
            throw Failure(message: "cannot store \(path): a \(o.typeName) (only nil, booleans, numbers, strings and tables can be stored)")
        }
    }

    static func pathComponent(_ key: LuaValue) -> String {
        if case .string(let s) = key, let name = s.string, !name.isEmpty,
           name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }), !(name.first!.isNumber) {
            return "." + name
        }
        return "[" + key.debugDescription + "]"
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

    public static func decode(_ bytes: [UInt8]) throws(Failure) -> LuaValue {
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw Failure(message: "stored state does not start with LST1: not Loom state, or a newer format")
        }
        var at = 4
        let value = try read(bytes, &at, depth: 0)
        guard at == bytes.count else { throw Failure(message: "stored state has \(bytes.count - at) trailing bytes") }
        return value
    }

    static func read(_ b: [UInt8], _ at: inout Int, depth: Int) throws(Failure) -> LuaValue {
        guard depth < 200 else { throw Failure(message: "stored state nests deeper than 200 tables") }
        guard at < b.count else { throw Failure(message: "stored state ends early") }
        let tag = b[at]
        at += 1
        func fixed() throws(Failure) -> UInt64 {
            guard at + 8 <= b.count else { throw Failure(message: "stored state ends early") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }
        func length() throws(Failure) -> Int {
            var n: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard at < b.count, shift < 64 else { throw Failure(message: "stored state has a bad length") }
                let byte = b[at]
                at += 1
                n |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            guard n <= UInt64(b.count) else { throw Failure(message: "stored state has a length past its end") }
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
            guard at + n <= b.count else { throw Failure(message: "stored state ends early") }
            defer { at += n }
            return .string(LuaString(bytes: Array(b[at..<(at + n)])))
        case 6:
            let n = try length()
            var t = LuaTable()
            for _ in 0..<n {
                let k = try read(b, &at, depth: depth + 1)
                let v = try read(b, &at, depth: depth + 1)
                t[k] = v
            }
            return .table(t)
        default:
            throw Failure(message: "stored state has an unknown tag \(tag)")
        }
    }
}
