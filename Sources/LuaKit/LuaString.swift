/// A Lua string: a sequence of bytes, which may or may not be UTF-8 and may contain zero bytes.
public struct LuaString: Sendable, Hashable, Comparable, ExpressibleByStringLiteral,
    CustomStringConvertible, CustomDebugStringConvertible
{
    /// The bytes, exactly as Lua holds them.
    public var bytes: [UInt8]

    /// Wraps the bytes as they are.
    public init(bytes: [UInt8]) { self.bytes = bytes }
    /// Copies the bytes of any byte sequence.
    public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 { self.bytes = Array(bytes) }
    /// The UTF-8 bytes of `string`.
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    /// The UTF-8 bytes of the literal.
    public init(stringLiteral value: String) { self.init(value) }

    /// The bytes as a String when they are valid UTF-8, else nil.
    public var string: String? {
        // `String(decoding:)` is specialized for byte arrays, where `String(validating:)` looks up
        // generic metadata on every call (hosts read a string from Lua on every ask): the bytes
        // are valid exactly when decoding kept them as they were.
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }

    /// The bytes as text, with invalid UTF-8 replaced by U+FFFD.
    public var description: String { String(decoding: bytes, as: UTF8.self) }

    /// A Lua literal for the string: quotes, backslashes and control characters escaped, valid
    /// UTF-8 kept readable, other bytes as decimal escapes.
    public var debugDescription: String {
        var out = "\""
        func escape(_ value: UInt32) -> Bool {
            switch value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F: out += decimalEscape(value)
            default: return false
            }
            return true
        }
        if let text = string {
            for scalar in text.unicodeScalars where !escape(scalar.value) {
                out.unicodeScalars.append(scalar)
            }
        } else {
            for byte in bytes where !escape(UInt32(byte)) {
                if byte < 0x80 { out.unicodeScalars.append(Unicode.Scalar(byte)) } else { out += decimalEscape(UInt32(byte)) }
            }
        }
        return out + "\""
    }

    /// `\ddd`: always three digits, so a following digit cannot join the escape.
    private func decimalEscape(_ value: UInt32) -> String {
        let digits = String(value)
        return "\\" + String(repeating: "0", count: 3 - digits.count) + digits
    }

    /// Byte-wise lexicographic order, as Lua compares strings in the C locale.
    public static func < (a: LuaString, b: LuaString) -> Bool {
        a.bytes.lexicographicallyPrecedes(b.bytes)
    }
}

