/// The values of TOML 1.0 that `TOMLScanner` checks: strings, then numbers, booleans, dates and
/// times.
extension TOMLScanner {
    // MARK: Strings

    /// `"..."`: one line, escapes.
    mutating func basicString() throws(TOMLSyntaxError) {
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
    mutating func escape() throws(TOMLSyntaxError) {
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
    mutating func multilineString(quote: UInt8) throws(TOMLSyntaxError) {
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
    mutating func literalString() throws(TOMLSyntaxError) {
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

    static func isScalarStart(_ c: UInt8) -> Bool {
        isBare(c) || c == 0x2b || c == 0x2e
    }

    static func isScalarByte(_ c: UInt8) -> Bool {
        isBare(c) || c == 0x2b || c == 0x2e || c == 0x3a
    }

    /// A boolean, number, date or time: the longest run of the bytes these use (a date and a
    /// time may be separated by one space), then checked as a whole.
    mutating func scalar() throws(TOMLSyntaxError) {
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

    static func equals(_ token: UnsafeBufferPointer<UInt8>, _ word: StaticString) -> Bool {
        token.count == word.utf8CodeUnitCount && token.elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
    }

    static func fullDate(at start: Int, in b: UnsafeBufferPointer<UInt8>) -> Bool {
        let digits = [0, 1, 2, 3, 5, 6, 8, 9]
        return start + 10 <= b.count && digits.allSatisfy { isDigit(b[start + $0]) } && b[start + 4] == 0x2d && b[start + 7] == 0x2d
    }

    struct Problem {
        var offset: Int
        var message: String
    }

    /// What is wrong with a number (integer or float) token, or nil.
    static func numberProblem(_ t: UnsafeBufferPointer<UInt8>) -> Problem? {
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
    static func digits(_ t: UnsafeBufferPointer<UInt8>, _ k: inout Int) -> Problem? {
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
    static func dateTimeProblem(_ t: UnsafeBufferPointer<UInt8>) -> Problem? {
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


extension Int {
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
