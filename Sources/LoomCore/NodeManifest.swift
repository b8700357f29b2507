import Foundation
import TOMLKit

/// A node's `node.toml`: its name, lineage, where its skills and agents live, its preferences and
/// its constitution.
public struct NodeManifest: Sendable, Equatable {
    /// The node's name, a simple name (`weaver`); ancestors are found by it.
    public var name: String
    /// Parent nodes, in order (the C3 linearization keeps this order).
    public var parents: [String]
    /// Folders of skills, relative to the node. Default `["skills"]`.
    public var skills: [String]
    /// The folder of agents, relative to the node. Default `agents`.
    public var agents: String
    /// `hub`: an `http://` or `https://` URL, checked for form only; nothing in Loom connects to it
    /// today.
    public var hub: String?
    /// `[lineage] paths`: folders searched first for ancestors, relative to the node.
    public var lineagePaths: [String]
    /// `[prefer]`: capability key (`search@1`) to the skill name that serves it when one node has two.
    public var prefer: [String: String]
    /// `[constitution]`: the permissions allowed by skill origin; ``Constitution/standard`` by default.
    public var constitution: Constitution
    /// `[memory] store`: `sqlite` (the default) or `postgres`; the manifest accepts both, the runtime
    /// opens SQLite only.
    public var memoryStore: String
    /// `[memory]` ranking weights and consolidation schedule; a key left out keeps the default.
    public var memory = MemorySettings()
    /// `[fs.roots]`: the folders the node grants to `fs.read@1`, by root name; relative paths are
    /// relative to the node.
    public var fileRoots: [String: String] = [:]
    /// The node's folder, as given to ``load(directory:)``; relative manifest paths resolve against it.
    public var directory: String

    /// A manifest made in code (tests, benchmarks, generated lineages); `load` reads node.toml.
    public init(name: String, parents: [String], skills: [String], agents: String, hub: String?, lineagePaths: [String],
                prefer: [String: String], constitution: Constitution, memoryStore: String,
                memory: MemorySettings = MemorySettings(), fileRoots: [String: String] = [:], directory: String) {
        self.name = name
        self.parents = parents
        self.skills = skills
        self.agents = agents
        self.hub = hub
        self.lineagePaths = lineagePaths
        self.prefer = prefer
        self.constitution = constitution
        self.memoryStore = memoryStore
        self.memory = memory
        self.fileRoots = fileRoots
        self.directory = directory
    }

    static let keys = ["name", "parents", "skills", "agents", "hub", "lineage", "prefer", "constitution", "memory", "fs"]

    /// Reads and checks `directory/node.toml`.
    /// - Throws: a ``ManifestError`` with every problem in the file (a missing file says the folder
    ///   needs a node.toml).
    public static func load(directory: String) throws(ManifestError) -> NodeManifest {
        let (file, text) = try ManifestReader.read("node.toml", in: directory, what: "node",
                                                   hint: "is \(directory) a node? It needs a node.toml")
        return try parse(text: text, file: file, directory: directory)
    }

    /// Parses and checks node.toml text; `file` names it in diagnostics, `directory` anchors
    /// `[fs.roots]`. Touches no disk.
    public static func parse(text: String, file: String, directory: String) throws(ManifestError) -> NodeManifest {
        let table = try ManifestReader.table(file: file, text: text)
        var r = ManifestReader(file: file, text: text)
        r.checkKeys(table, allowed: keys, what: "node.toml")
        let name = r.name(table, dotted: false, what: "node")
        let parents = r.strings(table, "parents") ?? []
        for p in parents where !Names.isSimple(p) { r.report("'\(p)' in parents is not a node name", key: "parents", element: p) }
        if let name, parents.contains(name) { r.report("node '\(name)' names itself as a parent", key: "parents", element: name) }
        if Set(parents).count != parents.count { r.report("a parent is listed twice", key: "parents") }
        let skills = r.strings(table, "skills") ?? ["skills"]
        let agents = r.string(table, "agents") ?? "agents"
        let hub = r.string(table, "hub")
        if let hub, !(hub.hasPrefix("http://") || hub.hasPrefix("https://")) {
            r.report("hub must be an http:// or https:// URL", key: "hub")
        }
        var lineagePaths: [String] = []
        if let lt = r.subtable(table, "lineage") {
            r.checkKeys(lt, allowed: ["paths"], table: "lineage", what: "[lineage]")
            lineagePaths = r.strings(lt, "paths", table: "lineage") ?? []
        }
        var prefer: [String: String] = [:]
        if let pt = r.subtable(table, "prefer") {
            for key in pt.keys.sorted() {
                if (try? CapabilityRef(key)) == nil {
                    r.report("[prefer] key '\(key)' is not a capability (name@MAJOR)", key: key, table: "prefer")
                }
                if let skill = r.string(pt, key, table: "prefer") {
                    if Names.isDotted(skill) { prefer[key] = skill } else {
                        r.report("[prefer] value '\(skill)' is not a skill name", key: key, table: "prefer")
                    }
                }
            }
        }
        var constitution = Constitution.standard
        if let ct = r.subtable(table, "constitution") {
            r.checkKeys(ct, allowed: ["own", "lineage", "foreign"], table: "constitution", what: "[constitution]")
            if let own = r.permissions(ct, "own", table: "constitution") { constitution.own = Set(own) }
            if let lineage = r.permissions(ct, "lineage", table: "constitution") { constitution.lineage = Set(lineage) }
            if let foreign = r.permissions(ct, "foreign", table: "constitution") { constitution.foreign = Set(foreign) }
        }
        var memoryStore = "sqlite"
        var memory = MemorySettings()
        if let mt = r.subtable(table, "memory") {
            r.checkKeys(mt, allowed: ["store", "url"] + MemorySettings.bounds.keys.sorted(), table: "memory", what: "[memory]")
            for (key, bound) in MemorySettings.bounds.sorted(by: { $0.key < $1.key }) {
                guard let value = mt[key] else { continue }
                guard let n = value.double ?? value.int.map(Double.init) else {
                    r.report("'\(key)' must be a number, found \(ManifestReader.typeName(value))", key: key, table: "memory")
                    continue
                }
                guard n.isFinite, n >= 0, n <= bound else {
                    r.report("'\(key)' is \(n), outside 0...\(Int(bound))", key: key, table: "memory",
                             hint: key == "consolidate_every" ? "seconds between consolidations; 0 for on demand only" : nil,
                             kind: .outOfRange)
                    continue
                }
                memory.values[key] = n
            }
            memoryStore = r.string(mt, "store", table: "memory") ?? "sqlite"
            if !["sqlite", "postgres"].contains(memoryStore) {
                r.report("unknown memory store '\(memoryStore)'", key: "store", table: "memory", hint: "use \"sqlite\" or \"postgres\"")
            }
        }
        var fileRoots: [String: String] = [:]
        if let ft = r.subtable(table, "fs") {
            r.checkKeys(ft, allowed: ["roots"], table: "fs", what: "[fs]")
            if let rt = r.subtable(ft, "roots") {
                for key in rt.keys.sorted() {
                    guard let path = r.string(rt, key, table: "fs.roots") else { continue }
                    guard !key.isEmpty, !key.contains("/"), key != ".", key != ".." else {
                        r.report("'\(key)' is not a root name (one path component)", key: key, table: "fs.roots")
                        continue
                    }
                    fileRoots[key] = Paths.isAbsolute(path) ? path : Paths.normalized(Paths.join(directory, path))
                }
            }
        }
        guard r.diagnostics.isEmpty, let name else { throw ManifestError(r.diagnostics) }
        var manifest = NodeManifest(name: name, parents: parents, skills: skills, agents: agents, hub: hub, lineagePaths: lineagePaths,
                                    prefer: prefer, constitution: constitution, memoryStore: memoryStore, directory: directory)
        manifest.memory = memory
        manifest.fileRoots = fileRoots
        return manifest
    }
}

/// `[memory]` numbers of node.toml: ranking weights (`weight_text`, `weight_recency`,
/// `weight_importance`, `weight_outcome`), `half_life_days` of the recency term, and
/// `consolidate_every` (seconds between scheduled consolidations; 0 or absent: on demand only).
public struct MemorySettings: Sendable, Equatable {
    /// The numbers set in node.toml, by key; a key left out keeps the runtime's default.
    public var values: [String: Double] = [:]
    /// No values: every default.
    public init() {}

    /// The largest value of each key: far past any use, small enough that the runtime's
    /// conversions (seconds to milliseconds in an Int64, days to seconds) cannot overflow.
    public static let bounds: [String: Double] = [
        "half_life_days": 1_000_000, "weight_text": 1_000_000, "weight_recency": 1_000_000, "weight_importance": 1_000_000,
        "weight_outcome": 1_000_000, "consolidate_every": 1_000_000_000,
    ]
}

/// What the node allows skills to ask for, by where they come from.
public struct Constitution: Sendable, Equatable {
    /// Skills of the node itself.
    public var own: Set<Permission>
    /// Skills inherited from the node's ancestors.
    public var lineage: Set<Permission>
    /// Skills installed from nodes outside the lineage.
    public var foreign: Set<Permission>

    /// Makes a constitution from the three permission sets.
    public init(own: Set<Permission>, lineage: Set<Permission>, foreign: Set<Permission>) {
        self.own = own
        self.lineage = lineage
        self.foreign = foreign
    }

    /// The default: everything for the node's own and inherited skills; for foreign skills only
    /// log, clock and memory.
    public static let standard = Constitution(own: Set(Permission.allCases), lineage: Set(Permission.allCases),
                                              foreign: [.log, .clock, .memory])

    /// The permissions a skill of `origin` may receive.
    public func allowed(for origin: SkillOrigin) -> Set<Permission> {
        switch origin {
        case .own: own
        case .lineage: lineage
        case .foreign: foreign
        }
    }
}

/// Where a skill comes from, relative to the node being resolved.
public enum SkillOrigin: String, Sendable, Hashable {
    /// The node's own skill folders; an ancestor's (including bundles installed as ancestors); or a
    /// bundle installed from a node outside the lineage.
    case own, lineage, foreign
}
