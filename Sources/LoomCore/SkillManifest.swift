import Foundation
import TOMLKit

/// A skill's `skill.toml`: what it provides and requires, and the permissions it needs.
/// The format is in `docs/formats.md`.
public struct SkillManifest: Sendable, Equatable {
    public var name: String
    public var version: SemanticVersion
    public var description: String
    /// The Lua file that defines the skill, relative to its folder. Default `init.lua`.
    public var entry: String
    public var provides: [CapabilityRef]
    public var requires: [CapabilityRef]
    public var optional: [CapabilityRef]
    /// Names of skills that must not be resolved together with this one.
    public var conflicts: [String]
    public var permissions: [Permission]
    /// The same-named skill of a later node in the lineage that this one overrides (`super`).
    public var extends: String?
    public var limits: Limits
    /// The folder holding the manifest.
    public var directory: String

    public struct Limits: Sendable, Equatable {
        public var instructions: Int?
        public var memory: Int?
        public var timeoutMilliseconds: Int?
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
    public static func load(directory: String) throws(ManifestError) -> SkillManifest {
        let (file, text) = try ManifestReader.read("skill.toml", in: directory, what: "skill", hint: "create skill.toml")
        return try parse(text: text, file: file, directory: directory) { ManifestReader.exists($0, in: directory) }
    }

    /// Parses manifest text. `fileExists` answers for paths relative to the skill's folder.
    public static func parse(text: String, file: String, directory: String,
                             fileExists: (String) -> Bool) throws(ManifestError) -> SkillManifest {
        let table = try ManifestReader.table(file: file, text: text)
        var r = ManifestReader(file: file, text: text)
        r.checkKeys(table, allowed: keys, what: "skill.toml")
        let name = r.name(table, dotted: true, what: "skill")
        let version = r.version(table, "version", required: true)
        let description = r.string(table, "description") ?? ""
        let entry = r.string(table, "entry") ?? "init.lua"
        if !fileExists(entry) {
            r.report("entry file '\(entry)' does not exist", key: table["entry"] == nil ? nil : "entry",
                     hint: "create \(entry) next to skill.toml, or set entry = \"...\"")
        }
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
            limits.instructions = r.integer(lt, "instructions", table: "limits")
            limits.memory = r.integer(lt, "memory", table: "limits")
            limits.timeoutMilliseconds = r.integer(lt, "timeout_ms", table: "limits")
            for (key, value) in [("instructions", limits.instructions), ("memory", limits.memory), ("timeout_ms", limits.timeoutMilliseconds)] {
                if let value, value <= 0 { r.report("'\(key)' must be positive", key: key, table: "limits") }
            }
        }
        guard r.diagnostics.isEmpty, let name, let version else { throw ManifestError(r.diagnostics) }
        return SkillManifest(name: name, version: version, description: description, entry: entry, provides: provides,
                             requires: requires, optional: optional, conflicts: conflicts, permissions: permissions,
                             extends: extends, limits: limits, directory: directory)
    }
}
