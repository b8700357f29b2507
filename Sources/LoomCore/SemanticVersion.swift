/// A Semantic Versioning 2.0 version: `MAJOR.MINOR.PATCH[-prerelease][+build]`.
///
/// Ordering follows the specification: build metadata is ignored, a prerelease sorts before its
/// release, numeric prerelease identifiers compare numerically and sort before alphanumeric ones.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Incompatible changes; a capability is named by it (`search@1`).
    public var major: Int
    /// Compatible additions.
    public var minor: Int
    /// Compatible fixes.
    public var patch: Int
    /// The dot-separated identifiers after `-` (`["beta", "2"]`); empty for a release.
    public var prerelease: [String]
    /// The dot-separated identifiers after `+`; ignored by `==`, hashing and ordering.
    public var build: [String]

    /// Makes a version from its parts, unchecked.
    public init(_ major: Int, _ minor: Int, _ patch: Int, prerelease: [String] = [], build: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    /// Parses a full version; nil when the text is not one (`1.2` is not: see ``VersionRange`` for
    /// partial versions). Components with leading zeros or too large for an `Int` are refused.
    ///
    /// ```swift
    /// SemanticVersion("1.4.0-beta.2+linux")   // 1.4.0, prerelease ["beta", "2"], build ["linux"]
    /// ```
    public init?(_ text: String) {
        var rest = Substring(text)
        var build: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            build = rest[rest.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !build.isEmpty, build.allSatisfy({ !$0.isEmpty && $0.allSatisfy(SemanticVersion.isIdentifierCharacter) }) else { return nil }
            rest = rest[..<plus]
        }
        var prerelease: [String] = []
        if let dash = rest.firstIndex(of: "-") {
            prerelease = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !prerelease.isEmpty, prerelease.allSatisfy(SemanticVersion.isValidPrerelease) else { return nil }
            rest = rest[..<dash]
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let a = SemanticVersion.number(parts[0]), let b = SemanticVersion.number(parts[1]),
              let c = SemanticVersion.number(parts[2]) else { return nil }
        self.init(a, b, c, prerelease: prerelease, build: build)
    }

    /// Whether the version has prerelease identifiers (`1.0.0-rc.1`).
    public var isPrerelease: Bool { !prerelease.isEmpty }

    /// The version as written: `MAJOR.MINOR.PATCH[-prerelease][+build]`.
    public var description: String {
        var s = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { s += "-" + prerelease.joined(separator: ".") }
        if !build.isEmpty { s += "+" + build.joined(separator: ".") }
        return s
    }

    /// A numeric component: digits, no leading zero (except 0 itself).
    static func number(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }), s == "0" || s.first != "0" else { return nil }
        return Int(s)
    }

    /// Digits without a leading zero that do not fit in an Int: a number too large, not a malformed one.
    static func isOverlong(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy({ $0.isASCII && $0.isNumber }) && s.first != "0" && Int(s) == nil
    }

    /// Whether MAJOR, MINOR or PATCH of `text` is a number too large for an Int.
    static func hasOverlongComponent(_ text: String) -> Bool {
        let core = text.prefix { $0 != "-" && $0 != "+" }
        return core.split(separator: ".").contains(where: isOverlong)
    }

    static func isIdentifierCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "-")
    }

    static func isValidPrerelease(_ s: String) -> Bool {
        guard !s.isEmpty, s.allSatisfy(isIdentifierCharacter) else { return false }
        if s.allSatisfy({ $0.isNumber }) { return s == "0" || s.first != "0" }
        return true
    }

    static func isNumeric(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }

    /// Equal when all but the build metadata are equal: `1.0.0+a == 1.0.0+b`.
    public static func == (a: SemanticVersion, b: SemanticVersion) -> Bool {
        a.major == b.major && a.minor == b.minor && a.patch == b.patch && a.prerelease == b.prerelease
    }

    /// Hashes what `==` compares (build metadata left out).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    /// Semantic Versioning 2.0 precedence: `1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0`.
    public static func < (a: SemanticVersion, b: SemanticVersion) -> Bool {
        if a.major != b.major { return a.major < b.major }
        if a.minor != b.minor { return a.minor < b.minor }
        if a.patch != b.patch { return a.patch < b.patch }
        switch (a.prerelease.isEmpty, b.prerelease.isEmpty) {
        case (true, true), (true, false): return false
        case (false, true): return true
        case (false, false): break
        }
        for (x, y) in zip(a.prerelease, b.prerelease) where x != y {
            // Numeric identifiers compare as numbers of any size (no leading zeros: the longer is greater).
            switch (isNumeric(x), isNumeric(y)) {
            case (true, true): return x.count != y.count ? x.count < y.count : x < y
            case (true, false): return true
            case (false, true): return false
            case (false, false): return x < y
            }
        }
        return a.prerelease.count < b.prerelease.count
    }
}
