/// A capability named with its major version, optionally narrowed by a range on the full version:
/// `search@1`, `text.scan@1 >=1.1`.
public struct CapabilityRef: Sendable, Hashable, CustomStringConvertible {
    /// The capability's dotted name, e.g. `text.scan`.
    public var name: String
    /// The major version: the interface; providers at another major never satisfy the reference.
    public var major: Int
    /// The range on the full version; `.any` when none is written.
    public var range: VersionRange

    /// Makes a reference without checking the name; ``init(_:)`` parses and checks written text.
    public init(name: String, major: Int, range: VersionRange = .any) {
        self.name = name
        self.major = major
        self.range = range
    }

    /// `name@MAJOR`: the identity of the interface.
    public var key: String { "\(name)@\(major)" }

    /// The reference as written in manifests: ``key``, then the range when one is given
    /// (`text.scan@1 >=1.1`).
    public var description: String { range.comparators.isEmpty ? key : "\(key) \(range.text)" }

    /// Parses `name@MAJOR [range]`; the error explains the expected form.
    ///
    /// Spaces around the text are ignored; the range, when present, follows the major after a space.
    ///
    /// ```swift
    /// let ref = try CapabilityRef("text.scan@1 >=1.1")
    /// ref.key                                         // "text.scan@1"
    /// ref.isSatisfied(by: SemanticVersion(1, 2, 0))   // true
    /// ref.isSatisfied(by: SemanticVersion(2, 0, 0))   // false: another major
    /// ```
    ///
    /// - Throws: ``CapabilityError`` when there is no `@`, the name is not dotted lowercase words,
    ///   the major is not a whole number, or the range does not parse.
    public init(_ text: String) throws(CapabilityError) {
        let trimmed = text.trimmingSpaces
        guard let at = trimmed.firstIndex(of: "@") else {
            throw CapabilityError(text: text, reason: "a capability is written name@MAJOR, e.g. \"search@1\"")
        }
        let name = String(trimmed[..<at])
        guard Names.isDotted(name) else {
            throw CapabilityError(text: text, reason: "'\(name)' is not a capability name (lowercase words separated by dots, e.g. text.scan)")
        }
        let rest = trimmed[trimmed.index(after: at)...]
        let majorText = rest.prefix { $0 != " " }
        guard let major = SemanticVersion.number(majorText) else {
            throw CapabilityError(text: text, reason: "'\(majorText)' after '@' must be the major version, a whole number")
        }
        let rangeText = String(rest.dropFirst(majorText.count)).trimmingSpaces
        var range = VersionRange.any
        if !rangeText.isEmpty {
            do {
                range = try VersionRange(rangeText)
            } catch {
                throw CapabilityError(text: text, reason: error.description)
            }
        }
        self.init(name: name, major: major, range: range)
    }

    /// Whether a provider of `name@major` at `version` satisfies this reference.
    public func isSatisfied(by version: SemanticVersion) -> Bool {
        version.major == major && range.contains(version)
    }
}

/// Text that is not a capability reference, with what is wrong and the form expected.
public struct CapabilityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text as given, untrimmed.
    public var text: String
    /// What is wrong with it, ending with the expected form or an example.
    public var reason: String
    /// `bad capability "TEXT": REASON`, as shown to the user.
    public var description: String { "bad capability \"\(text)\": \(reason)" }
}

/// Name rules for skills, capabilities, agents and nodes.
public enum Names: Sendable {
    /// Lowercase words of letters, digits and hyphens, separated by dots: `audit.secrets`.
    public static func isDotted(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 64 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isWord)
    }

    /// One lowercase word of letters, digits and hyphens, starting with a letter: `security-auditor`.
    public static func isSimple(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && isWord(Substring(s))
    }

    static func isWord(_ w: Substring) -> Bool {
        guard let first = w.first, first.isASCII, first.isLowercase else { return false }
        guard w.last != "-" else { return false }
        return w.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }
    }
}

/// What a skill may ask the host for. A skill's environment holds only the host capabilities its
/// effective permissions grant.
public enum Permission: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case fsRead = "fs.read"
    case fsWrite = "fs.write"
    case net = "net"
    case memory = "memory"
    case log = "log"
    case clock = "clock"
    case messaging = "messaging"
    case spawn = "spawn"
    case hub = "hub"

    /// The name used in manifests and messages, e.g. `fs.read`.
    public var description: String { rawValue }
    /// Orders by ``rawValue``, so that sorted permissions print in a stable, alphabetical order.
    public static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }
}

/// A capability the host provides itself, and the permission a skill needs to use it.
public struct HostCapability: Sendable, Hashable {
    /// `name@MAJOR`, as skills `require` it, e.g. `fs.read@1`.
    public var key: String
    /// The full version the host provides, checked against a requirer's range.
    public var version: SemanticVersion
    /// The permission a skill must declare to require it; nil when none is needed.
    public var permission: Permission?
    /// Whether this version of Loom gives it to `use`. One that is named (so that manifests and
    /// permissions can mention it) but not implemented fails resolution when required, and
    /// resolves as absent when `optional`.
    public var implemented: Bool

    /// A host capability; `key` is `name@MAJOR`. It is ``implemented`` unless said otherwise.
    public init(_ key: String, version: SemanticVersion, permission: Permission?, implemented: Bool = true) {
        self.key = key
        self.version = version
        self.permission = permission
        self.implemented = implemented
    }
}

/// The table of host capabilities the runtime supplies.
public struct HostCapabilities: Sendable {
    /// Each capability under its ``HostCapability/key``.
    public var byKey: [String: HostCapability]

    /// The table of `capabilities`; when two share a key, the first is kept.
    public init(_ capabilities: [HostCapability]) {
        byKey = Dictionary(capabilities.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The keys of the implemented ones, sorted.
    public var implementedKeys: [String] { byKey.values.filter(\.implemented).map(\.key).sorted() }

    /// The host capabilities of this version of Loom. `fs.write@1`, `net.http@1` and `hub@1` are
    /// named but not implemented yet (the runtime's `use` serves the other five).
    public static let standard = HostCapabilities([
        HostCapability("memory@1", version: SemanticVersion(1, 0, 0), permission: .memory),
        HostCapability("log@1", version: SemanticVersion(1, 0, 0), permission: .log),
        HostCapability("clock@1", version: SemanticVersion(1, 0, 0), permission: .clock),
        HostCapability("fs.read@1", version: SemanticVersion(1, 0, 0), permission: .fsRead),
        HostCapability("fs.write@1", version: SemanticVersion(1, 0, 0), permission: .fsWrite, implemented: false),
        HostCapability("net.http@1", version: SemanticVersion(1, 0, 0), permission: .net, implemented: false),
        HostCapability("messaging@1", version: SemanticVersion(1, 0, 0), permission: .messaging),
        HostCapability("hub@1", version: SemanticVersion(1, 0, 0), permission: .hub, implemented: false),
    ])
}
