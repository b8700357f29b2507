import TOMLKit

/// `loom.lock`: the resolved map from capability to skill, so that a node starts the same way twice.
///
/// Deterministic TOML: a header comment, `version` and `node`, then one `[[capability]]` per
/// capability served by a skill, sorted by capability, each with the skill, its version, the node
/// it came from and the SHA-256 of its files. Host capabilities are not recorded.
///
/// ```swift
/// let plan = try NodePlan(directory: "nodes/auditor")
/// let lock = try plan.currentLock()
/// try lock.render().write(toFile: plan.lockPath, atomically: true, encoding: .utf8)
///
/// let read = try LockFile.load(file: plan.lockPath)
/// read.differences(to: lock)   // []: nothing changed
/// ```
public struct LockFile: Sendable, Equatable {
    /// One `[[capability]]` table: the skill that serves a capability, and what it was when locked.
    public struct Entry: Sendable, Equatable {
        /// The capability served, as `name@MAJOR`.
        public var capability: String
        /// The name of the chosen skill (the top of its `extends` chain).
        public var skill: String
        /// The chosen skill's semantic version, as text (e.g. `1.2.0`).
        public var version: String
        /// The name of the node of the lineage the skill comes from.
        public var node: String
        /// The content hash of the chosen skill's folder (``SkillHasher``): `sha256:` and 64 lowercase hex
        /// digits over every file's relative path, size and bytes. Skills it extends are not included.
        public var hash: String
    }

    /// The name of the node that was resolved (the root of the lineage).
    public var node: String
    /// One entry per capability served by a skill, sorted by capability.
    public var entries: [Entry]

    /// The file's name, `loom.lock`, in the root node's folder.
    public static let fileName = "loom.lock"

    /// The lock for a resolution; `hash` gives each skill folder's content hash.
    public init(resolution: Resolution, hash: (String) throws -> String) rethrows {
        node = resolution.node
        var entries: [Entry] = []
        for key in resolution.bindings.keys.sorted() {
            guard case .skill(let s) = resolution.bindings[key]!.provider else { continue }
            entries.append(Entry(capability: key, skill: s.top.name, version: s.top.version.description, node: s.top.node,
                                 hash: try hash(s.top.manifest.directory)))
        }
        self.entries = entries
    }

    init(node: String, entries: [Entry]) {
        self.node = node
        self.entries = entries
    }

    /// The file's text: deterministic TOML, the same for the same entries, ready to write.
    public func render() -> String {
        var out = "# loom.lock: written by `loom resolve`. Do not edit; resolve again instead.\n"
        out += "version = 1\n"
        out += "node = \(Self.quote(node))\n"
        for e in entries {
            out += "\n[[capability]]\n"
            out += "name = \(Self.quote(e.capability))\n"
            out += "skill = \(Self.quote(e.skill))\n"
            out += "version = \(Self.quote(e.version))\n"
            out += "node = \(Self.quote(e.node))\n"
            out += "hash = \(Self.quote(e.hash))\n"
        }
        return out
    }

    static func quote(_ s: String) -> String { TOMLText.quoted(s) }

    /// Reads and parses the lock file at `file`.
    public static func load(file: String) throws(ManifestError) -> LockFile {
        try parse(text: ManifestText.read(file, what: "the lock file", hint: "run `loom resolve` to write it"), file: file)
    }

    /// Parses lock-file `text`; `file` is the path reported in diagnostics.
    ///
    /// Every problem is collected (unknown keys, a version other than 1, a bad node name, a damaged or
    /// repeated `[[capability]]` entry) before throwing, each with the hint to resolve again.
    /// - Throws: ``ManifestError`` with one diagnostic per problem, or for TOML that does not parse.
    public static func parse(text: String, file: String) throws(ManifestError) -> LockFile {
        let table = try ManifestReader.table(file: file, text: text)
        var r = ManifestReader(file: file, text: text)
        let again = "delete loom.lock and run `loom resolve`"
        r.checkKeys(table, allowed: ["version", "node", "capability"], what: "loom.lock")
        let version = r.integer(table, "version")
        if version != 1 { r.report("unsupported lock file version", key: "version", hint: again) }
        let node = r.string(table, "node", required: true) ?? ""
        if table["node"]?.string != nil, !Names.isSimple(node) {
            r.report("'\(Diagnostic.shown(node))' is not a node name", key: "node", hint: again)
        }
        var entries: [Entry] = []
        if let value = table["capability"] {
            guard let array = value.array else {
                r.report("'capability' must be an array of [[capability]] tables", key: "capability", hint: again)
                throw ManifestError(r.diagnostics)
            }
            for item in array {
                guard let t = item.table else { r.report("[[capability]] entries must be tables", hint: again); continue }
                let fields = ["name", "skill", "version", "node", "hash"].map { t[$0]?.string }
                if fields.contains(where: { $0 == nil }) {
                    r.report("a [[capability]] entry lacks one of name, skill, version, node, hash", hint: again)
                    continue
                }
                let e = Entry(capability: fields[0]!, skill: fields[1]!, version: fields[2]!, node: fields[3]!, hash: fields[4]!)
                var problems: [String] = []
                if (try? CapabilityRef(e.capability))?.key != e.capability { problems.append("name '\(Diagnostic.shown(e.capability))' is not name@MAJOR") }
                if !Names.isDotted(e.skill) { problems.append("skill '\(Diagnostic.shown(e.skill))' is not a skill name") }
                if SemanticVersion(e.version) == nil { problems.append("version '\(Diagnostic.shown(e.version))' is not a semantic version") }
                if !Names.isSimple(e.node) { problems.append("node '\(Diagnostic.shown(e.node))' is not a node name") }
                if !Self.isHash(e.hash) { problems.append("hash '\(Diagnostic.shown(e.hash))' is not sha256:<64 hex digits>") }
                if entries.contains(where: { $0.capability == e.capability }) { problems.append("'\(e.capability)' is listed twice") }
                guard problems.isEmpty else {
                    let at = r.map.position(ofQuoted: e.capability)
                    r.diagnostics.append(Diagnostic(file: file, line: at?.line ?? 1, column: at?.column ?? 1,
                                                    message: "a [[capability]] entry is damaged: " + problems.joined(separator: "; "),
                                                    hint: again))
                    continue
                }
                entries.append(e)
            }
        }
        guard r.diagnostics.isEmpty else { throw ManifestError(r.diagnostics) }
        return LockFile(node: node, entries: entries.sorted { $0.capability < $1.capability })
    }

    static func isHash(_ s: String) -> Bool {
        s.hasPrefix("sha256:") && s.utf8.count == 71 && s.utf8.dropFirst(7).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// What changes from `self` (the file) to `other` (a new resolution), one line each.
    public func differences(to other: LockFile) -> [String] {
        var out: [String] = []
        let old = Dictionary(entries.map { ($0.capability, $0) }, uniquingKeysWith: { a, _ in a })
        let new = Dictionary(other.entries.map { ($0.capability, $0) }, uniquingKeysWith: { a, _ in a })
        for key in Set(old.keys).union(new.keys).sorted() {
            switch (old[key], new[key]) {
            case let (a?, b?) where a != b:
                var what: [String] = []
                if a.skill != b.skill || a.node != b.node { what.append("provider \(a.skill) (\(a.node)) -> \(b.skill) (\(b.node))") }
                if a.version != b.version { what.append("version \(a.version) -> \(b.version)") }
                if a.hash != b.hash { what.append("files changed (\(a.hash.prefix(19))… -> \(b.hash.prefix(19))…)") }
                out.append("\(key): " + what.joined(separator: ", "))
            case let (a?, nil): out.append("\(key): no longer needed (was \(a.skill) from \(a.node))")
            case let (nil, b?): out.append("\(key): new, \(b.skill) \(b.version) from \(b.node)")
            default: break
            }
        }
        if node != other.node { out.insert("node: \(node) -> \(other.node)", at: 0) }
        return out
    }

    /// The entries still valid for this lineage (skill present with the same version and files),
    /// as pins for the resolver.
    public func pins(in lineage: Lineage, hash: (String) throws -> String) -> [String: Resolver.Pin] {
        var pins: [String: Resolver.Pin] = [:]
        for e in entries {
            guard let node = lineage.nodes.first(where: { $0.name == e.node }),
                  let skill = node.skills.first(where: { $0.name == e.skill }) ?? node.foreignSkills.first(where: { $0.name == e.skill }),
                  skill.version.description == e.version,
                  (try? hash(skill.directory)) == e.hash else { continue }
            pins[e.capability] = Resolver.Pin(node: e.node, skill: e.skill)
        }
        return pins
    }
}
