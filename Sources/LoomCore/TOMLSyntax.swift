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
private struct TOMLScanner {
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    /// The tables and arrays around the current position.
    private var depth = 0
    /// The depth of the table the last header opened.
    private var tableDepth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { b = bytes }

    private func peek(_ k: Int = 0) -> UInt8? { i + k < b.count ? b[i + k] : nil }

    private func fail(_ kind: TOMLSyntaxError.Kind, at offset: Int? = nil) -> TOMLSyntaxError {
        TOMLSyntaxError(kind, offset: offset ?? i, in: b)
    }

    private static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f
    }
    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    private static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66) }

    private mutating func skipWhitespace() {
        while let c = peek(), c == 0x20 || c == 0x09 { i += 1 }
    }

    /// A newline (LF or CR LF) at the current position, consumed; a lone CR is an error.
    private mutating func newline() throws(TOMLSyntaxError) -> Bool {
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
    private mutating func comment() throws(TOMLSyntaxError) {
        i += 1
        while let c = peek() {
            if c == 0x0a || (c == 0x0d && peek(1) == 0x0a) { return }
            if (c < 0x20 && c != 0x09) || c == 0x7f { throw fail(.controlCharacter(c, where: "a comment")) }
            i += 1
        }
    }

    /// Whitespace, comments and newlines, as between array elements.
    private mutating func skipWhitespaceCommentsNewlines() throws(TOMLSyntaxError) {
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
    private mutating func tableHeader() throws(TOMLSyntaxError) {
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
    private mutating func key() throws(TOMLSyntaxError) {
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

    private mutating func simpleKey() throws(TOMLSyntaxError) {
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
    private mutating func keyValue() throws(TOMLSyntaxError) {
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

    private mutating func value() throws(TOMLSyntaxError) {
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

    private mutating func enter() throws(TOMLSyntaxError) {
        depth += 1
        guard depth <= TOMLSyntax.maximumDepth else { throw fail(.tooDeep(limit: TOMLSyntax.maximumDepth)) }
    }

    private mutating func array() throws(TOMLSyntaxError) {
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

    private mutating func inlineTable() throws(TOMLSyntaxError) {
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

    // MARK: Strings

    /// `"..."`: one line, escapes.
    private mutating func basicString() throws(TOMLSyntaxError) {
        let start = i
        i += 1
        while true {
            guard let c = peek() else { throw fail(.unterminated("string"), at: start) }
            switch c {
            case 0x22: i += 1; return
            case 0x5c: try escape()
            case 0x0a, 0x0d: throw fail(.unterminated("string"), at: start)
            case 0x09: i += 1
            case 0..<0x20, 0x7f: throw fail(.controlCharacter(c, where: "a string"))
            default: i += 1
            }
        }
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`, the code point a Unicode scalar value.
    private mutating func escape() throws(TOMLSyntaxError) {
        let start = i
        i += 1
        guard let c = peek() else { throw fail(.badEscape, at: start) }
        switch c {
        case 0x62, 0x74, 0x6e, 0x66, 0x72, 0x22, 0x5c: i += 1
        case 0x75, 0x55:
            let count = c == 0x75 ? 4 : 8
            var value: UInt32 = 0
            for k in 1...count {
                guard let h = peek(k), Self.isHex(h) else { throw fail(.badUnicodeEscape, at: start) }
                value = value << 4 | UInt32(h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x61 + 10)
            }
            guard Unicode.Scalar(value) != nil else { throw fail(.badUnicodeEscape, at: start) }
            i += 1 + count
        default: throw fail(.badEscape, at: start)
        }
    }

    /// `"""..."""` or `'''...'''`: newlines allowed, a newline right after the opening delimiter
    /// trimmed, up to two quotes before the closing delimiter; escapes and line-ending backslashes
    /// in the basic form only.
    private mutating func multilineString(quote: UInt8) throws(TOMLSyntaxError) {
        let start = i
        let basic = quote == 0x22
        let what = basic ? "multi-line string" : "multi-line literal string"
        i += 3
        while true {
            guard let c = peek() else { throw fail(.unterminated(what), at: start) }
            switch c {
            case quote:
                var run = 0
                while peek(run) == quote { run += 1 }
                if run < 3 { i += run; continue }
                guard run <= 5 else { throw fail(.tooManyQuotes, at: i + 5) }
                i += run
                return
            case 0x5c where basic:
                // A line-ending backslash: whitespace, a newline, then any whitespace and newlines.
                var k = 1
                while let w = peek(k), w == 0x20 || w == 0x09 { k += 1 }
                if peek(k) == 0x0a || (peek(k) == 0x0d && peek(k + 1) == 0x0a) {
                    i += k
                    while true {
                        skipWhitespace()
                        if try !newline() { break }
                    }
                } else {
                    try escape()
                }
            case 0x0a: i += 1
            case 0x0d:
                guard try newline() else { throw fail(.bareCarriageReturn) }
            case 0x09: i += 1
            case 0..<0x20, 0x7f: throw fail(.controlCharacter(c, where: "a string"))
            default: i += 1
            }
        }
    }

    /// `'...'`: one line, no escapes.
    private mutating func literalString() throws(TOMLSyntaxError) {
        let start = i
        i += 1
        while true {
            guard let c = peek() else { throw fail(.unterminated("literal string"), at: start) }
            switch c {
            case 0x27: i += 1; return
            case 0x0a, 0x0d: throw fail(.unterminated("literal string"), at: start)
            case 0x09: i += 1
            case 0..<0x20, 0x7f: throw fail(.controlCharacter(c, where: "a string"))
            default: i += 1
            }
        }
    }

    // MARK: Numbers, booleans, dates and times

    private static func isScalarStart(_ c: UInt8) -> Bool {
        isBare(c) || c == 0x2b || c == 0x2e
    }

    private static func isScalarByte(_ c: UInt8) -> Bool {
        isBare(c) || c == 0x2b || c == 0x2e || c == 0x3a
    }

    /// A boolean, number, date or time: the longest run of the bytes these use (a date and a
    /// time may be separated by one space), then checked as a whole.
    private mutating func scalar() throws(TOMLSyntaxError) {
        let start = i
        while let c = peek(), Self.isScalarByte(c) { i += 1 }
        // `1979-05-27 07:32:00`: a full date, a space, and a digit go on as a date-time.
        if i - start == 10, peek() == 0x20, let d = peek(1), Self.isDigit(d), Self.fullDate(at: start, in: b) {
            i += 1
            while let c = peek(), Self.isScalarByte(c) { i += 1 }
        }
        let token = UnsafeBufferPointer(rebasing: b[start..<i])
        if Self.equals(token, "true") || Self.equals(token, "false") { return }
        if token.count >= 3 && Self.isDigit(token[0]) && Self.isDigit(token[1]) && (token[2] == 0x3a || (token.count >= 5 && Self.isDigit(token[2]) && token[4] == 0x2d)) {
            if let problem = Self.dateTimeProblem(token) { throw fail(.badDateTime(problem.message), at: start + problem.offset) }
            return
        }
        let signed = token[0] == 0x2b || token[0] == 0x2d
        let unsigned = UnsafeBufferPointer(rebasing: token[(signed ? 1 : 0)...])
        if Self.equals(unsigned, "inf") || Self.equals(unsigned, "nan") { return }
        if let first = unsigned.first, !Self.isDigit(first) && first != 0x2e {
            let word = String(decoding: token.prefix(40), as: UTF8.self) + (token.count > 40 ? "..." : "")
            throw fail(.notAValue(word), at: start)
        }
        if let problem = Self.numberProblem(token) { throw fail(.badNumber(problem.message), at: start + problem.offset) }
    }

    private static func equals(_ token: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        token.count == word.utf8CodeUnitCount && token.elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    private static func fullDate(at start: Int, in b: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        return start + 10 <= b.count && digits.allSatisfy { isDigit(b[start + $0]) } && b[start + 4] == 0x2d && b[start + 7] == 0x2d
    }

    private struct Problem {
        var offset: Int
        var message: String
    }

    /// What is wrong with a number (integer or float) token, or nil.
    private static func numberProblem(_ t: UnsafeBufferPointer<UInt8>) -> Problem? {
        var k = 0
        let n = t.count
        var negative = false
        if t[0] == 0x2b || t[0] == 0x2d { negative = t[0] == 0x2d; k = 1 }
        guard k < n else { return Problem(offset: k, message: "a sign must be followed by digits") }
        // 0x, 0o, 0b: no sign, digits with single underscores between them.
        if t[k] == 0x30, k + 1 < n, t[k + 1] == 0x78 || t[k + 1] == 0x6f || t[k + 1] == 0x62 {
            if k > 0 { return Problem(offset: 0, message: "a hexadecimal, octal or binary integer has no sign") }
            let radix: UInt64 = t[1] == 0x78 ? 16 : t[1] == 0x6f ? 8 : 2
            var value: UInt64 = 0
            var j = 2
            var previousDigit = false
            if j == n { return Problem(offset: j, message: "expected digits after the prefix") }
            while j < n {
                let c = t[j]
                if c == 0x5f {
                    if !previousDigit || j + 1 == n { return Problem(offset: j, message: "an underscore must be between two digits") }
                    previousDigit = false
                } else {
                    let d: UInt64
                    switch c {
                    case 0x30...0x39: d = UInt64(c - 0x30)
                    case 0x61...0x66: d = UInt64(c - 0x61 + 10)
                    case 0x41...0x46: d = UInt64(c - 0x41 + 10)
                    default: d = 99
                    }
                    guard d < radix else { return Problem(offset: j, message: "'\(Unicode.Scalar(c))' is not a base-\(radix) digit") }
                    let (m, o1) = value.multipliedReportingOverflow(by: radix)
                    let (s, o2) = m.addingReportingOverflow(d)
                    guard !o1, !o2, s <= UInt64(Int64.max) else { return Problem(offset: 0, message: "the integer does not fit in 64 bits") }
                    value = s
                    previousDigit = true
                }
                j += 1
            }
            return nil
        }
        // Decimal: an integer part without leading zeros, then an optional fraction and exponent.
        let intStart = k
        guard isDigit(t[k]) else { return Problem(offset: k, message: "expected a digit") }
        if t[k] == 0x30, k + 1 < n, isDigit(t[k + 1]) || t[k + 1] == 0x5f {
            return Problem(offset: k, message: "leading zeros are not allowed")
        }
        if let p = digits(t, &k) { return p }
        let intEnd = k
        var isFloat = false
        if k < n, t[k] == 0x2e {
            isFloat = true
            k += 1
            guard k < n, isDigit(t[k]) else { return Problem(offset: k, message: "expected a digit after the decimal point") }
            if let p = digits(t, &k) { return p }
        }
        if k < n, t[k] == 0x65 || t[k] == 0x45 {
            isFloat = true
            k += 1
            if k < n, t[k] == 0x2b || t[k] == 0x2d { k += 1 }
            guard k < n, isDigit(t[k]) else { return Problem(offset: k, message: "expected a digit in the exponent") }
            if let p = digits(t, &k) { return p }
        }
        if k < n { return Problem(offset: k, message: "unexpected '\(Unicode.Scalar(t[k]))'") }
        if !isFloat {
            // Within a signed 64-bit integer.
            var value: UInt64 = 0
            for c in t[intStart..<intEnd] where c != 0x5f {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(UInt64(c - 0x30))
                guard !o1, !o2, s <= UInt64(Int64.max) + (negative ? 1 : 0) else {
                    return Problem(offset: 0, message: "the integer does not fit in 64 bits")
                }
                value = s
            }
        }
        return nil
    }

    /// One or more digits with single underscores between them, from `k` (a digit).
    private static func digits(_ t: UnsafeBufferPointer<UInt8>, _ k: inout Int) -> Problem? {
        k += 1
        while k < t.count {
            if isDigit(t[k]) { k += 1; continue }
            if t[k] == 0x5f {
                guard k + 1 < t.count, isDigit(t[k + 1]) else { return Problem(offset: k, message: "an underscore must be between two digits") }
                k += 2
                continue
            }
            break
        }
        return nil
    }

    /// What is wrong with a date, time or date-time token, or nil.
    private static func dateTimeProblem(_ t: UnsafeBufferPointer<UInt8>) -> Problem? {
        let n = t.count
        var k = 0
        func number(_ count: Int, _ what: String, _ range: ClosedRange<Int>) -> Problem? {
            var v = 0
            for j in 0..<count {
                guard k + j < n, isDigit(t[k + j]) else { return Problem(offset: min(k + j, n), message: "expected \(count) digits for the \(what)") }
                v = v * 10 + Int(t[k + j] - 0x30)
            }
            guard range.contains(v) else { return Problem(offset: k, message: "the \(what) must be \(range.lowerBound) to \(range.upperBound)") }
            k += count
            return nil
        }
        func separator(_ c: UInt8) -> Problem? {
            guard k < n, t[k] == c else { return Problem(offset: k, message: "expected '\(Unicode.Scalar(c))'") }
            k += 1
            return nil
        }
        func time() -> Problem? {
            if let p = number(2, "hour", 0...23) ?? separator(0x3a) ?? number(2, "minute", 0...59) ?? separator(0x3a)
                ?? number(2, "second", 0...60) { return p }
            if k < n, t[k] == 0x2e {
                k += 1
                guard k < n, isDigit(t[k]) else { return Problem(offset: k, message: "expected digits after the decimal point") }
                while k < n, isDigit(t[k]) { k += 1 }
            }
            return nil
        }
        if n >= 3, t[2] == 0x3a {
            if let p = time() { return p }
            return k < n ? Problem(offset: k, message: "unexpected '\(Unicode.Scalar(t[k]))' after the time") : nil
        }
        // The year, month and day, the day within the month.
        if let p = number(4, "year", 0...9999) ?? separator(0x2d) ?? number(2, "month", 1...12) ?? separator(0x2d) { return p }
        let year = Int(ascii: t, 0, 4) ?? 0, month = Int(ascii: t, 5, 2) ?? 1
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        if let p = number(2, "day", 1...days) { return p }
        if k == n { return nil }
        guard t[k] == 0x54 || t[k] == 0x74 || t[k] == 0x20 else {
            return Problem(offset: k, message: "expected 'T' or a space between the date and the time")
        }
        k += 1
        if let p = time() { return p }
        if k == n { return nil }
        switch t[k] {
        case 0x5a, 0x7a: k += 1
        case 0x2b, 0x2d:
            k += 1
            if let p = number(2, "offset hour", 0...23) ?? separator(0x3a) ?? number(2, "offset minute", 0...59) { return p }
        default: return Problem(offset: k, message: "expected 'Z' or an offset like +01:00 after the time")
        }
        return k < n ? Problem(offset: k, message: "unexpected '\(Unicode.Scalar(t[k]))' after the date-time") : nil
    }
}

private extension Int {
    init?(ascii t: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) {
        guard start + count <= t.count else { return nil }
        var v = 0
        for c in t[start..<start + count] {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        self = v
    }
}

/// Why a document is not TOML 1.0, and where: a 1-based line and column (in Unicode scalars), and
/// the byte offset.
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case tooLarge(bytes: Int, limit: Int)
        case tooDeep(limit: Int)
        case bareCarriageReturn
        case controlCharacter(UInt8, where: String)
        case expectedKey
        case expectedValue
        case expectedNewline(after: String)
        case expected(String)
        case multilineKey
        case unterminated(String)
        case badEscape
        case badUnicodeEscape
        case tooManyQuotes
        case newlineInInlineTable
        case trailingCommaInInlineTable
        case notAValue(String)
        case badNumber(String)
        case badDateTime(String)
    }

    public var kind: Kind
    public var line: Int
    public var column: Int
    public var offset: Int
    /// What is at the position: `'x'`, `a newline`, `the end of the file`.
    public var found: String

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

    public var description: String { "\(line):\(column): \(message)" }

    /// The error as a diagnostic in `file`.
    public func diagnostic(file: String) -> Diagnostic {
        let kind: Diagnostic.Kind
        if case .tooLarge = self.kind { kind = .tooLarge } else { kind = .syntax }
        return Diagnostic(file: file, line: line, column: column, message: "TOML syntax: \(message)",
                          hint: "manifests are TOML 1.0 (https://toml.io/en/v1.0.0); see docs/formats.md", kind: kind)
    }
}
