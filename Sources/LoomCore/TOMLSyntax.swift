/// A strict TOML 1.0 syntax check that runs before any text reaches TOMLKit.
///
/// toml++ (inside TOMLKit) asserts on some invalid documents (`[é]`, `[[[x`, `a = [}`): with
/// assertions on the process aborts, without them the asserts become undefined behaviour. So only
/// text this scanner accepts is handed to it, and everything else gets an error with a line, a
/// column and what is wrong. It checks the whole grammar of https://toml.io/en/v1.0.0 (its ABNF)
/// without building values; semantic errors (a key defined twice, a table redefined) are left to
/// toml++, which reports them as errors. It also refuses what would strain toml++'s recursion or
/// memory: documents over `maximumSize` bytes and nesting deeper than `maximumDepth` levels.
public enum TOMLSyntax: Sendable {
    /// The largest document accepted, in bytes (16 MiB).
    public static let maximumSize = 16 << 20
    /// The deepest nesting accepted: the tables (named by header and dotted key parts, or inline),
    /// and arrays around a value, counted together.
    public static let maximumDepth = 100

    /// Checks `text`; throws the first problem found. (Bytes that are not UTF-8, and NUL, are
    /// ManifestText's to refuse first: a String is UTF-8, and a NUL fails the grammar here too.)
    public static func validate(_ text: String) throws(TOMLSyntaxError) {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(TOMLSyntaxError) in
                guard bytes.count <= maximumSize else {
                    throw TOMLSyntaxError(.tooLarge(bytes: bytes.count, limit: maximumSize), offset: 0, in: bytes)
                }
                var scanner = TOMLScanner(bytes: bytes)
                try scanner.document()
            }
        }
        try result.get()
    }

    /// The first problem in `text`, or nil.
    public static func error(in text: String) -> TOMLSyntaxError? {
        do throws(TOMLSyntaxError) { try validate(text) } catch { return error }
        return nil
    }
}

/// A cursor over a document's bytes that follows the TOML 1.0 grammar, throwing at the first byte
/// that does not fit.
struct TOMLScanner {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    /// The tables and arrays around the current position.
    var depth = 0
    /// The depth of the table the last header opened.
    var tableDepth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { b = bytes }

    func peek(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    func fail(_ kind: TOMLSyntaxError.Kind, at offset: Int? = nil) -> TOMLSyntaxError {
        TOMLSyntaxError(kind, offset: offset ?? i, in: b)
    }

    static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f
    }
    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) }

    mutating func skipWhitespace() {
        while let c = peek(), c == 0x20 || c == 0x09 { i += 1 }
    }

    /// A newline (LF or CR LF) at the current position, consumed; a lone CR is an error.
    mutating func newline() throws(TOMLSyntaxError) -> Bool {
        switch peek() {
        case 0x0a: i += 1; return true
        case 0x0d:
            guard peek(1) == 0x0a else { throw fail(.bareCarriageReturn) }
            i += 2
            return true
        default: return false
        }
    }

    /// `# ...` up to (not including) the end of the line.
    mutating func comment() throws(TOMLSyntaxError) {
        i += 1
        while let c = peek() {
            if c == 0x0a || (c == 0x0d && peek(1) == 0x0a) { return }
            if (c < 0x20 && c != 0x09) || c == 0x7f { throw fail(.controlCharacter(c, where: "a comment")) }
            i += 1
        }
    }

    /// Whitespace, comments and newlines, as between array elements.
    mutating func skipWhitespaceCommentsNewlines() throws(TOMLSyntaxError) {
        while true {
            skipWhitespace()
            if peek() == 0x23 { try comment() }
            if try !newline() { return }
        }
    }

    mutating func document() throws(TOMLSyntaxError) {
        // A byte order mark may open the document.
        if peek() == 0xef && peek(1) == 0xbb && peek(2) == 0xbf { i = 3 }
        while true {
            skipWhitespace()
            guard let c = peek() else { return }
            var after = "a comment"
            switch c {
            case 0x23, 0x0a, 0x0d: break
            case 0x5b:
                try tableHeader()
                after = "a table header"
            default:
                depth = tableDepth
                try keyValue()
                after = "a key/value pair"
            }
            skipWhitespace()
            if peek() == 0x23 { try comment() }
            if peek() == nil { return }
            guard try newline() else { throw fail(.expectedNewline(after: after)) }
        }
    }

    /// `[key]` or `[[key]]`.
    mutating func tableHeader() throws(TOMLSyntaxError) {
        let array = peek(1) == 0x5b
        i += array ? 2 : 1
        depth = 0
        skipWhitespace()
        try key()
        tableDepth = depth
        skipWhitespace()
        if array {
            guard peek() == 0x5d, peek(1) == 0x5d else { throw fail(.expected("']]' to close the array-of-tables header")) }
            i += 2
        } else {
            guard peek() == 0x5d else { throw fail(.expected("']' to close the table header")) }
            i += 1
        }
    }

    /// A simple or dotted key, with whitespace allowed around the dots; adds its parts to `depth`.
    mutating func key() throws(TOMLSyntaxError) {
        try simpleKey()
        while true {
            let save = i
            skipWhitespace()
            guard peek() == 0x2e else { i = save; return }
            i += 1
            skipWhitespace()
            try simpleKey()
        }
    }

    mutating func simpleKey() throws(TOMLSyntaxError) {
        depth += 1
        guard depth <= TOMLSyntax.maximumDepth else { throw fail(.tooDeep(limit: TOMLSyntax.maximumDepth)) }
        switch peek() {
        case 0x22:
            guard !(peek(1) == 0x22 && peek(2) == 0x22) else { throw fail(.multilineKey) }
            try basicString()
        case 0x27:
            guard !(peek(1) == 0x27 && peek(2) == 0x27) else { throw fail(.multilineKey) }
            try literalString()
        case let c? where Self.isBare(c):
            while let c = peek(), Self.isBare(c) { i += 1 }
        default:
            throw fail(.expectedKey)
        }
    }

    /// `key = value`; the depth is restored afterwards. Every key part but the last names a table.
    mutating func keyValue() throws(TOMLSyntaxError) {
        let outer = depth
        depth -= 1
        try key()
        skipWhitespace()
        guard peek() == 0x3d else { throw fail(.expected("'=' after the key")) }
        i += 1
        skipWhitespace()
        try value()
        depth = outer
    }

    mutating func value() throws(TOMLSyntaxError) {
        guard let c = peek() else { throw fail(.expectedValue) }
        switch c {
        case 0x22:
            if peek(1) == 0x22 && peek(2) == 0x22 { try multilineString(quote: 0x22) } else { try basicString() }
        case 0x27:
            if peek(1) == 0x27 && peek(2) == 0x27 { try multilineString(quote: 0x27) } else { try literalString() }
        case 0x5b: try array()
        case 0x7b: try inlineTable()
        default:
            guard Self.isScalarStart(c) else { throw fail(.expectedValue) }
            try scalar()
        }
    }

    mutating func enter() throws(TOMLSyntaxError) {
        depth += 1
        guard depth <= TOMLSyntax.maximumDepth else { throw fail(.tooDeep(limit: TOMLSyntax.maximumDepth)) }
    }

    mutating func array() throws(TOMLSyntaxError) {
        try enter()
        defer { depth -= 1 }
        i += 1
        while true {
            try skipWhitespaceCommentsNewlines()
            if peek() == 0x5d { i += 1; return }
            try value()
            try skipWhitespaceCommentsNewlines()
            switch peek() {
            case 0x2c: i += 1
            case 0x5d: i += 1; return
            case nil: throw fail(.unterminated("array"))
            default: throw fail(.expected("',' or ']' after an array element"))
            }
        }
    }

    mutating func inlineTable() throws(TOMLSyntaxError) {
        try enter()
        defer { depth -= 1 }
        i += 1
        skipWhitespace()
        if peek() == 0x7d { i += 1; return }
        while true {
            switch peek() {
            case 0x0a, 0x0d: throw fail(.newlineInInlineTable)
            case 0x7d: throw fail(.trailingCommaInInlineTable)
            default: break
            }
            try keyValue()
            skipWhitespace()
            switch peek() {
            case 0x2c:
                i += 1
                skipWhitespace()
            case 0x7d: i += 1; return
            case 0x0a, 0x0d: throw fail(.newlineInInlineTable)
            case nil: throw fail(.unterminated("inline table"))
            default: throw fail(.expected("',' or '}' after a key/value pair in an inline table"))
            }
        }
    }
}
