import Foundation
import TOMLKit

/// A skill's `skill.toml`: what it provides and requires, and the permissions it needs.
/// The format is in `docs/formats.md`.
public struct SkillManifest: Sendable, Equatable {
    /// The skill's name, dotted lowercase words (`audit.secrets`).
    public var name: String
    /// The skill's own version; it provides each capability at ``providedVersion(of:)``.
    public var version: SemanticVersion
    /// Free text for people; empty when absent.
    public var description: String
    /// The Lua file that defines the skill, relative to its folder. Default `init.lua`.
    public var entry: String
    /// The capabilities it implements, as `name@MAJOR` without ranges.
    public var provides: [CapabilityRef]
    /// The capabilities it needs; resolution fails when one has no provider.
    public var requires: [CapabilityRef]
    /// Capabilities it uses when present; a missing one is not an error.
    public var optional: [CapabilityRef]
    /// Names of skills that must not be resolved together with this one.
    public var conflicts: [String]
    /// The host permissions it asks for; the node's ``Constitution`` decides which it gets.
    public var permissions: [Permission]
    /// `extends`: the name of a skill in a later node of the lineage that this one overrides and
    /// reaches as `super` (usually its own name); the resolver takes the first such node.
    public var extends: String?
    /// Its own budgets (`[limits]`), checked when read. The runtime does not apply them yet: every
    /// script of a node runs under the node's `LuaLimits`.
    public var limits: Limits
    /// The folder holding the manifest.
    public var directory: String

    /// `[limits]` of skill.toml; nil fields are not set.
    public struct Limits: Sendable, Equatable {
        /// `instructions`: an instruction budget, at least 1.
        public var instructions: Int?
        /// `memory`: bytes, 1 to ``maxMemory``.
        public var memory: Int?
        /// `timeout_ms`: milliseconds, 1 to ``maxTimeoutMilliseconds``.
        public var timeoutMilliseconds: Int?

        /// Limits as given; nil leaves a budget unset. Values are not checked here, only when skill.toml
        /// is read.
        public init(instructions: Int? = nil, memory: Int? = nil, timeoutMilliseconds: Int? = nil) {
            self.instructions = instructions
            self.memory = memory
            self.timeoutMilliseconds = timeoutMilliseconds
        }

        /// 1 PiB: past any machine, and a byte count every layer below can hold.
        public static let maxMemory = 1 << 50
        /// About 31 years: in nanoseconds it still fits an Int64.
        public static let maxTimeoutMilliseconds = 1_000_000_000_000
    }

    /// A manifest made in code (tests, benchmarks, generated lineages); `load` reads skill.toml.
    public init(name: String, version: SemanticVersion, description: String, entry: String, provides: [CapabilityRef],
                requires: [CapabilityRef], optional: [CapabilityRef], conflicts: [String], permissions: [Permission],
                extends: String?, limits: Limits, directory: String) {
        self.name = name
        self.version = version
        self.description = description
        self.entry = entry
        self.provides = provides
        self.requires = requires
        self.optional = optional
        self.conflicts = conflicts
        self.permissions = permissions
        self.extends = extends
        self.limits = limits
        self.directory = directory
    }

    static let keys = ["name", "version", "description", "entry", "provides", "requires", "optional", "conflicts",
                       "permissions", "extends", "limits"]
    static let limitKeys = ["instructions", "memory", "timeout_ms"]

    /// The version at which it provides `name@MAJOR`: its own version when the majors agree,
    /// else `MAJOR.0.0`.
    public func providedVersion(of capability: CapabilityRef) -> SemanticVersion {
        version.major == capability.major ? version : SemanticVersion(capability.major, 0, 0)
    }

    /// Reads `directory/skill.toml`; every problem in it is reported.
    ///
    /// Also checks that the entry file is a file inside the folder (symbolic links followed, none
    /// leading out), so that the lock's hash covers the code that runs.
    /// - Throws: a ``ManifestError`` with every problem, each with its line and column.
    public static func load(directory: String) throws(ManifestError) -> SkillManifest {
        let (file, text) = try ManifestReader.read("skill.toml", in: directory, what: "skill", hint: "create skill.toml")
        return try parse(text: text, file: file, directory: directory, entryCheck: { ManifestReader.entry($0, in: directory) })
    }

    /// Parses manifest text. `fileExists` answers for paths relative to the skill's folder.
    public static func parse(text: String, file: String, directory: String,
                             fileExists: (String) -> Bool) throws(ManifestError) -> SkillManifest {
        try parse(text: text, file: file, directory: directory, entryCheck: { fileExists($0) ? .file : .missing })
    }

    static func parse(text: String, file: String, directory: String,
                      entryCheck: (String) -> ManifestReader.EntryFile) throws(ManifestError) -> SkillManifest {
        let table = try ManifestReader.table(file: file, text: text)
        var r = ManifestReader(file: file, text: text)
        r.checkKeys(table, allowed: keys, what: "skill.toml")
        let name = r.name(table, dotted: true, what: "skill")
        let version = r.version(table, "version", required: true)
        let description = r.string(table, "description") ?? ""
        let entry = r.entryPath(table, "entry", default: "init.lua", folder: "skill", check: entryCheck)
        let provides = r.capabilities(table, "provides", allowRange: false)
        let requires = r.capabilities(table, "requires", allowRange: true)
        let optional = r.capabilities(table, "optional", allowRange: true)
        let conflicts = r.strings(table, "conflicts") ?? []
        for c in conflicts where !Names.isDotted(c) {
            r.report("'\(c)' in conflicts is not a skill name", key: "conflicts", element: c)
        }
        let permissions = r.permissions(table, "permissions") ?? []
        let extends = r.string(table, "extends")
        if let extends, !Names.isDotted(extends) {
            r.report("'\(extends)' in extends is not a skill name", key: "extends")
        }
        var limits = Limits()
        if let lt = r.subtable(table, "limits") {
            r.checkKeys(lt, allowed: limitKeys, table: "limits", what: "[limits]")
            limits.instructions = r.integer(lt, "instructions", table: "limits", in: 1...Int.max)
            limits.memory = r.integer(lt, "memory", table: "limits", in: 1...Limits.maxMemory)
            limits.timeoutMilliseconds = r.integer(lt, "timeout_ms", table: "limits", in: 1...Limits.maxTimeoutMilliseconds)
        }
        guard r.diagnostics.isEmpty, let name, let version else { throw ManifestError(r.diagnostics) }
        return SkillManifest(name: name, version: version, description: description, entry: entry, provides: provides,
                             requires: requires, optional: optional, conflicts: conflicts, permissions: permissions,
                             extends: extends, limits: limits, directory: directory)
    }
}
