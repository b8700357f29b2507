/// One problem in a file the user wrote, with where it is and what to do.
///
/// Printed like a compiler's: `skills/x/skill.toml:3:11: error: ...`, then `  hint: ...`.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    /// How serious. LoomCore reports only errors; `warning` is there for callers' own diagnostics.
    public enum Severity: String, Sendable { case error, warning }

    /// What kind of problem, for callers that act on it.
    public enum Kind: String, Sendable {
        /// The file does not exist.
        case missing
        /// A folder (or another non-file) where a file belongs, or a file where a folder belongs.
        case notAFile
        /// The file exists but cannot be read (permissions, I/O).
        case unreadable
        /// The file is larger than a manifest may be.
        case tooLarge
        /// Not UTF-8 text, or text holding a NUL.
        case encoding
        /// TOML syntax.
        case syntax
        /// A number outside the range of its field.
        case outOfRange
        /// A path that leaves the folder it must stay in.
        case outsideFolder
        /// Any other problem with the contents.
        case invalid
    }

    /// The file the problem is in, as the caller named it.
    public var file: String
    /// 1-based line; nil when the problem has no place in the file (it is missing, say).
    public var line: Int?
    /// 1-based column in Unicode scalars; nil means the start of the line.
    public var column: Int?
    /// Error or warning.
    public var severity: Severity
    /// What is wrong, in one sentence.
    public var message: String
    /// What to do about it, when there is something to say.
    public var hint: String?
    /// The category, for code that acts on it (tests, `loom check`'s callers).
    public var kind: Kind

    /// Makes a diagnostic; an error of kind `invalid` unless told otherwise.
    public init(file: String, line: Int? = nil, column: Int? = nil, severity: Severity = .error,
                message: String, hint: String? = nil, kind: Kind = .invalid) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.severity = severity
        self.message = message
        self.hint = hint
    }

    /// `file:line:column` (column 1 when unknown), or just `file` without a line.
    public var location: String {
        guard let line else { return file }
        return "\(file):\(line):\(column ?? 1)"
    }

    /// The diagnostic as printed; control characters from the file (a key, a value) are shown
    /// escaped, never sent to the terminal.
    public var description: String {
        var s = "\(Self.escaped(location)): \(severity.rawValue): \(Self.escaped(message))"
        if let hint { s += "\n  hint: \(Self.escaped(hint))" }
        return s
    }

    /// `s` with control characters other than newline and tab (escape sequences a terminal would
    /// act on) written `\u{XX}`.
    public static func escaped(_ s: String) -> String {
        func isControl(_ c: Unicode.Scalar) -> Bool { (c.value < 0x20 && c != "\n" && c != "\t") || (0x7f...0x9f).contains(c.value) }
        guard s.unicodeScalars.contains(where: isControl) else { return s }
        var out = ""
        for c in s.unicodeScalars {
            if isControl(c) { out += "\\u{" + String(c.value, radix: 16) + "}" } else { out.unicodeScalars.append(c) }
        }
        return out
    }

    /// User text quoted in a message: at most `limit` characters.
    static func shown(_ s: String, limit: Int = 64) -> String {
        s.count <= limit ? s : String(s.prefix(limit)) + "…"
    }
}

/// A file with one or more problems.
public struct ManifestError: Error, Sendable, CustomStringConvertible {
    /// Every problem found, in the order found.
    public var diagnostics: [Diagnostic]
    /// Wraps the diagnostics.
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    /// Each diagnostic as printed, one after another.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Edit distance, for "did you mean ...?".
enum Suggest {
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// The closest candidate within a distance of about a third of the word, if any.
    static func closest(to word: String, in candidates: [String]) -> String? {
        guard word.count <= 64 else { return nil }   // no name is that long; and the distance is quadratic
        let scored = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) else { return nil }
        return best.0
    }
}
