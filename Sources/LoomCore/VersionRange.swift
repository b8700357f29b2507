/// A set of versions: `*`, an exact version `1.2.3` (or `=1.2.3`), a partial version `1.2`
/// (`>=1.2.0 <1.3.0`), caret `^1.2`, tilde `~1.2.3`, or comparators joined by spaces, all of which
/// must hold: `>=1.2 <2`.
///
/// A prerelease version is in the range only if some comparator names a prerelease of the same
/// `MAJOR.MINOR.PATCH` (npm's rule): `>=1.2.0-beta.1` admits `1.2.0-beta.2` but not `1.3.0-alpha`.
///
/// ```swift
/// let range = try VersionRange("^1.2")                  // >=1.2.0 <2.0.0
/// range.contains(SemanticVersion(1, 9, 0))              // true
/// range.contains(SemanticVersion("2.0.0")!)             // false
/// ```
public struct VersionRange: Sendable, Hashable, CustomStringConvertible {
    /// A comparison operator, its raw value as written.
    public enum Operator: String, Sendable, Hashable {
        case equal = "="
        case greater = ">"
        case greaterOrEqual = ">="
        case less = "<"
        case lessOrEqual = "<="
    }

    /// One operator and version, such as `>=1.2.0`. Ranges are normalized to these: `^1.2` is
    /// `>=1.2.0 <2.0.0`.
    public struct Comparator: Sendable, Hashable, CustomStringConvertible {
        /// How `version` bounds the range.
        public var op: Operator
        /// The bound.
        public var version: SemanticVersion

        /// Whether `v` satisfies this comparator alone, by ``SemanticVersion`` precedence (prereleases not
        /// treated specially: ``VersionRange/contains(_:)`` applies that rule).
        public func admits(_ v: SemanticVersion) -> Bool {
            switch op {
            case .equal: v == version
            case .greater: v > version
            case .greaterOrEqual: v >= version
            case .less: v < version
            case .lessOrEqual: v <= version
            }
        }

        /// The operator and the version, such as `<2.0.0`.
        public var description: String { op.rawValue + version.description }
    }

    /// All must hold; empty means any version.
    public var comparators: [Comparator]
    /// The text it was written as.
    public var text: String

    /// `*`: every release version. Like any range without a prerelease comparator, it admits no
    /// prerelease.
    public static let any = VersionRange(comparators: [], text: "*")

    init(comparators: [Comparator], text: String) {
        self.comparators = comparators
        self.text = text
    }

    /// The range as it was written (trimmed).
    public var description: String { text }

    /// Parses a range; the error says what is wrong with it. Empty text is `*`.
    /// - Throws: ``VersionError/badRange(_:_:)`` with the text and the reason.
    public init(_ text: String) throws(VersionError) {
        let trimmed = text.trimmingSpaces
        var comparators: [Comparator] = []
        if trimmed.isEmpty || trimmed == "*" {
            self.init(comparators: [], text: trimmed.isEmpty ? "*" : trimmed)
            return
        }
        for word in trimmed.split(separator: " ") {
            comparators += try VersionRange.parseTerm(String(word), in: trimmed)
        }
        self.init(comparators: comparators, text: trimmed)
    }

    /// Whether `v` satisfies every comparator and, when `v` is a prerelease, some comparator names a
    /// prerelease of the same `MAJOR.MINOR.PATCH`.
    public func contains(_ v: SemanticVersion) -> Bool {
        guard comparators.allSatisfy({ $0.admits(v) }) else { return false }
        if v.isPrerelease {
            return comparators.contains {
                $0.version.isPrerelease && $0.version.major == v.major && $0.version.minor == v.minor && $0.version.patch == v.patch
            }
        }
        return true
    }

    /// A partial version: `1`, `1.2`, `1.2.3`, `1.2.3-beta`, with `x` or `*` wildcards.
    struct Partial {
        var major: Int
        var minor: Int?
        var patch: Int?
        var prerelease: [String]

        var floor: SemanticVersion { SemanticVersion(major, minor ?? 0, patch ?? 0, prerelease: prerelease) }
    }

    static func parsePartial(_ s: String, in range: String) throws(VersionError) -> Partial {
        if let v = SemanticVersion(s) {
            return Partial(major: v.major, minor: v.minor, patch: v.patch, prerelease: v.prerelease)
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        func num(_ p: Substring) throws(VersionError) -> Int? {
            if p == "x" || p == "X" || p == "*" { return nil }
            guard let n = SemanticVersion.number(p) else {
                throw VersionError.badRange(range, SemanticVersion.isOverlong(p) ? "'\(p)' in '\(s)' is too large (at most \(Int.max))"
                                                                                  : "'\(s)' is not a version")
            }
            return n
        }
        guard (1...3).contains(parts.count), let major = try num(parts[0]) else {
            throw VersionError.badRange(range, "'\(s)' is not a version")
        }
        let minor = parts.count > 1 ? try num(parts[1]) : nil
        let patch = parts.count > 2 ? try num(parts[2]) : nil
        if minor == nil, patch != nil { throw VersionError.badRange(range, "'\(s)' is not a version") }
        return Partial(major: major, minor: minor, patch: patch, prerelease: [])
    }

    /// The versions a partial version stands for: `1` is every 1.x.y, `1.2` every 1.2.y, `1.2.3` only
    /// that one. `below` admits what is at most in the bucket, `above` what is past it. The bound is
    /// the first version after the bucket (`<2.0.0`, `>=2.0.0`) or, when that version cannot be
    /// represented (a component at Int.max), the last version of the bucket (`<=1.max.max`,
    /// `>1.max.max`), which admits the same versions.
    struct Bucket {
        var major: Int
        var minor: Int? = nil
        var patch: Int? = nil

        /// The first version after the bucket; nil when its component would overflow.
        var next: SemanticVersion? {
            switch (minor, patch) {
            case (nil, _): major < Int.max ? SemanticVersion(major + 1, 0, 0) : nil
            case (let m?, nil): m < Int.max ? SemanticVersion(major, m + 1, 0) : nil
            case (let m?, let p?): p < Int.max ? SemanticVersion(major, m, p + 1) : nil
            }
        }

        /// The greatest release version in the bucket.
        var last: SemanticVersion { SemanticVersion(major, minor ?? Int.max, patch ?? Int.max) }

        var below: Comparator {
            if let next { Comparator(op: .less, version: next) } else { Comparator(op: .lessOrEqual, version: last) }
        }

        var above: Comparator {
            if let next { Comparator(op: .greaterOrEqual, version: next) } else { Comparator(op: .greater, version: last) }
        }
    }

    static func parseTerm(_ word: String, in range: String) throws(VersionError) -> [Comparator] {
        func c(_ op: Operator, _ v: SemanticVersion) -> Comparator { Comparator(op: op, version: v) }
        if word.hasPrefix("^") {
            let p = try parsePartial(String(word.dropFirst()), in: range)
            // The left-most non-zero component may change no further: ^1.2 is 1.x, ^0.2 is 0.2.x, ^0.0.3 is 0.0.3.
            let bucket: Bucket
            if p.major > 0 || p.minor == nil { bucket = Bucket(major: p.major) }
            else if p.minor! > 0 || p.patch == nil { bucket = Bucket(major: 0, minor: p.minor) }
            else { bucket = Bucket(major: 0, minor: 0, patch: p.patch) }
            return [c(.greaterOrEqual, p.floor), bucket.below]
        }
        if word.hasPrefix("~") {
            let p = try parsePartial(String(word.dropFirst()), in: range)
            return [c(.greaterOrEqual, p.floor), Bucket(major: p.major, minor: p.minor).below]
        }
        for (prefix, op) in [(">=", Operator.greaterOrEqual), ("<=", .lessOrEqual), (">", .greater), ("<", .less), ("=", .equal)] where word.hasPrefix(prefix) {
            let rest = String(word.dropFirst(prefix.count))
            guard !rest.isEmpty else { throw VersionError.badRange(range, "'\(prefix)' needs a version after it") }
            let p = try parsePartial(rest, in: range)
            let complete = p.minor != nil && p.patch != nil
            if complete { return [c(op, p.floor)] }
            let bucket = Bucket(major: p.major, minor: p.minor)
            switch op {
            case .greaterOrEqual: return [c(.greaterOrEqual, p.floor)]
            case .greater: return [bucket.above]
            case .less: return [c(.less, p.floor)]
            case .lessOrEqual: return [bucket.below]
            case .equal: return [c(.greaterOrEqual, p.floor), bucket.below]
            }
        }
        if word == "*" || word == "x" { return [] }
        let p = try parsePartial(word, in: range)
        if p.minor != nil && p.patch != nil { return [c(.equal, p.floor)] }
        return [c(.greaterOrEqual, p.floor), Bucket(major: p.major, minor: p.minor).below]
    }
}

/// A version or range that does not parse.
public enum VersionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text is not a full semantic version.
    case badVersion(String)
    /// The range's text and why it does not parse.
    case badRange(String, String)

    /// The message a user sees, naming the text.
    public var description: String {
        switch self {
        case .badVersion(let v) where SemanticVersion.hasOverlongComponent(v):
            "'\(v)' is not a semantic version: a component is larger than \(Int.max)"
        case .badVersion(let v): "'\(v)' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0)"
        case .badRange(let r, let why): "bad version range '\(r)': \(why)"
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
