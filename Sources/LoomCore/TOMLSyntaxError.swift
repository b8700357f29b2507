/// Why a document is not TOML 1.0, and where: a 1-based line and column (in Unicode scalars), and
/// the byte offset.
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong; ``message`` words it.
    public enum Kind: Sendable, Equatable {
        /// The document is over ``TOMLSyntax/maximumSize``.
        case tooLarge(bytes: Int, limit: Int)
        /// Tables and arrays nest deeper than ``TOMLSyntax/maximumDepth``.
        case tooDeep(limit: Int)
        /// A CR not followed by LF.
        case bareCarriageReturn
        /// A control character TOML does not allow where it was found (a string, a comment).
        case controlCharacter(UInt8, where: String)
        /// A key was expected.
        case expectedKey
        /// A value was expected after `=` or in an array.
        case expectedValue
        /// Something followed a key-value pair or a table header on the same line.
        case expectedNewline(after: String)
        /// A specific token was expected (a closing bracket, `=`, ...).
        case expected(String)
        /// A key written as a multi-line string.
        case multilineKey
        /// A string or array that does not end.
        case unterminated(String)
        /// An escape sequence TOML does not define.
        case badEscape
        /// `\u` or `\U` with the wrong digits or a value that is not a Unicode scalar.
        case badUnicodeEscape
        /// More than two quotes just before the end of a multi-line string.
        case tooManyQuotes
        /// An inline table spread over lines.
        case newlineInInlineTable
        /// A comma before an inline table's `}`.
        case trailingCommaInInlineTable
        /// A bare word where a value belongs (an unquoted string, `True`).
        case notAValue(String)
        /// A malformed integer or float, and why.
        case badNumber(String)
        /// A malformed date or time, and why.
        case badDateTime(String)
    }

    /// What is wrong.
    public var kind: Kind
    /// 1-based line.
    public var line: Int
    /// 1-based column, in Unicode scalars.
    public var column: Int
    /// 0-based byte offset in the UTF-8 text.
    public var offset: Int
    /// What is at the position: `'x'`, `a newline`, `the end of the file`.
    public var found: String

    /// Makes an error at a position.
    public init(kind: Kind, line: Int, column: Int, offset: Int, found: String) {
        self.kind = kind
        self.line = line
        self.column = column
        self.offset = offset
        self.found = found
    }

    init(_ kind: Kind, offset: Int, in bytes: UnsafeBufferPointer<UInt8>) {
        var line = 1, lineStart = 0
        for k in 0..<min(offset, bytes.count) where bytes[k] == 0x0a {
            line += 1
            lineStart = k + 1
        }
        var column = 1
        if lineStart < offset {
            for k in lineStart..<min(offset, bytes.count) where bytes[k] & 0xc0 != 0x80 { column += 1 }
        }
        self.init(kind: kind, line: line, column: column, offset: offset, found: Self.describe(at: offset, in: bytes))
    }

    static func describe(at offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard offset < bytes.count else { return "the end of the file" }
        let c = bytes[offset]
        switch c {
        case 0x0a, 0x0d: return "the end of the line"
        case 0x20: return "a space"
        case 0x09: return "a tab"
        case 0x21...0x7e: return "'\(Unicode.Scalar(c))'"
        case 0..<0x20, 0x7f: return "control character \(hex(UInt32(c)))"
        default:
            let end = min(bytes.count, offset + 4)
            var iterator = UnsafeBufferPointer(rebasing: bytes[offset..<end]).makeIterator()
            var decoder = UTF8()
            if case .scalarValue(let s) = decoder.decode(&iterator) { return "'\(Character(s))' (\(hex(s.value)))" }
            return "byte 0x\(String(c, radix: 16, uppercase: true))"
        }
    }

    static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The problem in words, without the position.
    public var message: String {
        switch kind {
        case .tooLarge(let bytes, let limit): "the document is \(bytes) bytes; at most \(limit) are accepted"
        case .tooDeep(let limit): "nested more than \(limit) levels deep (tables, dotted keys, arrays and inline tables together)"
        case .bareCarriageReturn: "a carriage return not followed by a line feed"
        case .controlCharacter(let c, let place): "control character \(Self.hex(UInt32(c))) in \(place)"
        case .expectedKey: "expected a key, found \(found)"
        case .expectedValue: "expected a value, found \(found)"
        case .expectedNewline(let after): "expected a newline after \(after), found \(found)"
        case .expected(let what): "expected \(what), found \(found)"
        case .multilineKey: "a key cannot be a multi-line string"
        case .unterminated(let what): "unterminated \(what)"
        case .badEscape: "invalid escape sequence; allowed are \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX"
        case .badUnicodeEscape: "invalid Unicode escape: \\u takes 4 and \\U 8 hex digits naming a Unicode scalar value"
        case .tooManyQuotes: "more than two quotes before the end of a multi-line string"
        case .newlineInInlineTable: "a newline in an inline table (an inline table is written on one line)"
        case .trailingCommaInInlineTable: "a trailing comma in an inline table"
        case .notAValue(let word): "'\(word)' is not a value: strings are quoted, booleans are true and false (lowercase)"
        case .badNumber(let why): "invalid number: \(why)"
        case .badDateTime(let why): "invalid date or time: \(why)"
        }
    }

    /// `line:column: message`.
    public var description: String { "\(line):\(column): \(message)" }

    /// The error as a diagnostic in `file`.
    public func diagnostic(file: String) -> Diagnostic {
        let kind: Diagnostic.Kind
        if case .tooLarge = self.kind { kind = .tooLarge } else { kind = .syntax }
        return Diagnostic(file: file, line: line, column: column, message: "TOML syntax: \(message)",
                          hint: "manifests are TOML 1.0 (https://toml.io/en/v1.0.0); see docs/formats.md", kind: kind)
    }
}
