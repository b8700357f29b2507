import Foundation

/// A node as the resolver sees it: its manifest, its skills and agents.
public struct NodeRecord: Sendable {
    /// The node's node.toml.
    public var manifest: NodeManifest
    /// The skills of the node's skill paths: the paths in manifest order, the skills of each sorted by
    /// folder name.
    public var skills: [SkillManifest]
    /// The agents in the node's agents folder, sorted by folder name.
    public var agents: [AgentManifest]
    /// Skills installed from bundles of nodes outside the lineage (`.loom/installed/`).
    public var foreignSkills: [SkillManifest]

    /// Makes a record from manifests already read (tests, synthetic lineages).
    public init(manifest: NodeManifest, skills: [SkillManifest], agents: [AgentManifest], foreignSkills: [SkillManifest] = []) {
        self.manifest = manifest
        self.skills = skills
        self.agents = agents
        self.foreignSkills = foreignSkills
    }

    /// The node's name.
    public var name: String { manifest.name }
}

/// A node and its ancestors in C3 order, the node first.
public struct Lineage: Sendable {
    /// The node, then its ancestors in C3 order.
    public var nodes: [NodeRecord]
    /// The node whose lineage this is.
    public var root: NodeRecord { nodes[0] }
    /// The nodes' names in C3 order.
    public var order: [String] { nodes.map(\.name) }

    /// Wraps nodes already in C3 order, root first; nothing is checked.
    public init(nodes: [NodeRecord]) { self.nodes = nodes }

    /// Orders `root` and the given ancestors (found by name in `known`) with C3, without touching
    /// the disk.
    /// - Throws: ``LineageError/missingAncestor(node:parent:searched:)`` when a parent is not in
    ///   `known`; a cycle or an inconsistency.
    public init(root: NodeRecord, known: [String: NodeRecord]) throws(LineageError) {
        var all = known
        all[root.name] = root
        let order = try C3.linearize(root.name) { name throws(LineageError) in
            guard let node = all[name] else { throw LineageError.missingAncestor(node: root.name, parent: name, searched: ["(in memory)"]) }
            for p in node.manifest.parents where all[p] == nil {
                throw LineageError.missingAncestor(node: name, parent: p, searched: ["(in memory)"])
            }
            return node.manifest.parents
        }
        nodes = order.map { all[$0]! }
    }
}

/// Loads nodes from folders and finds their ancestors.
///
/// An ancestor named `P` of node `X` is looked for, in order: in the folders of X's
/// `[lineage] paths` (as `PATH/P` or `PATH` itself), beside X (`../P`), under X's
/// `.loom/ancestors/P`, and under the root node's `.loom/ancestors/P`. A folder counts only if its
/// node.toml says `name = "P"`.
///
/// ```swift
/// let lineage = try NodeLoader().lineage(of: "Examples/child")
/// lineage.order                                   // ["child", "weaver", "acgee"]
/// lineage.root.skills.map(\.name)                 // the child's own skills
/// ```
///
/// It reads the disk synchronously on the caller's thread and caches nothing: each call reads the
/// manifests again.
public struct NodeLoader: Sendable {
    /// A loader; it holds no state.
    public init() {}

    /// Loads the node in `directory`: node.toml, every skill folder (a folder with skill.toml) in its
    /// skill paths, every agent folder in its agents path, and installed foreign skills. All the
    /// manifests' problems are reported together.
    /// - Throws: a ``ManifestError`` with every problem of every manifest read; a skills or agents
    ///   path naming a file is one of them.
    public func load(directory: String) throws(ManifestError) -> NodeRecord {
        let directory = Paths.normalized(directory)
        let manifest = try NodeManifest.load(directory: directory)
        var diagnostics: [Diagnostic] = []
        // A skills or agents path that names a file, not a folder, is a mistake worth saying.
        func folder(_ path: String, key: String) -> String? {
            let full = Self.resolve(path, in: directory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue else { return full }
            diagnostics.append(Diagnostic(file: Paths.join(directory, "node.toml"), line: 1, column: 1,
                                          message: "\(key) '\(Diagnostic.shown(path))' is a file, not a folder (\(full))",
                                          hint: "\(key) names folders holding one folder per \(key == "agents" ? "agent" : "skill")",
                                          kind: .notAFile))
            return nil
        }
        var skills: [SkillManifest] = []
        for path in manifest.skills {
            guard let base = folder(path, key: "skills") else { continue }
            for folder in Self.subfolders(of: base, containing: "skill.toml") {
                do { skills.append(try SkillManifest.load(directory: folder)) } catch { diagnostics += error.diagnostics }
            }
        }
        var agents: [AgentManifest] = []
        if let base = folder(manifest.agents, key: "agents") {
            for folder in Self.subfolders(of: base, containing: "agent.toml") {
                do { agents.append(try AgentManifest.load(directory: folder)) } catch { diagnostics += error.diagnostics }
            }
        }
        var foreign: [SkillManifest] = []
        // .loom/installed/PUBLISHER--BUNDLE/skills/SKILL (from loom install), or a skill folder itself.
        let installed = Paths.join(directory, ".loom/installed")
        for bundle in Self.subfolders(of: installed, containing: "") {
            let folders = FileManager.default.fileExists(atPath: Paths.join(bundle, "skill.toml")) ? [bundle]
                : Self.subfolders(of: Paths.join(bundle, "skills"), containing: "skill.toml")
            for folder in folders {
                do { foreign.append(try SkillManifest.load(directory: folder)) } catch { diagnostics += error.diagnostics }
            }
        }
        guard diagnostics.isEmpty else { throw ManifestError(diagnostics) }
        return NodeRecord(manifest: manifest, skills: skills, agents: agents, foreignSkills: foreign)
    }

    /// The node and all its ancestors, in C3 order; each ancestor is loaded as ``load(directory:)``
    /// loads the node.
    /// - Throws: ``LineageError/manifest(_:)`` for a node's manifest problems,
    ///   ``LineageError/missingAncestor(node:parent:searched:)`` with every place looked, or a cycle
    ///   or inconsistency from ``C3/linearize(_:parents:)``.
    public func lineage(of directory: String) throws(LineageError) -> Lineage {
        let root: NodeRecord
        do { root = try load(directory: directory) } catch { throw .manifest(error) }
        var records: [String: NodeRecord] = [root.name: root]
        let order = try C3.linearize(root.name) { name throws(LineageError) in
            guard let node = records[name] else { return [] }
            for parent in node.manifest.parents where records[parent] == nil {
                let (found, searched) = findAncestor(parent, of: node, root: root)
                guard let found else {
                    throw LineageError.missingAncestor(node: name, parent: parent, searched: searched)
                }
                do throws(ManifestError) { records[parent] = try load(directory: found) } catch { throw LineageError.manifest(error) }
            }
            return node.manifest.parents
        }
        return Lineage(nodes: order.map { records[$0]! })
    }

    /// Where ancestor `name` of `node` is (nil when not found), and every place looked, in order.
    public func findAncestor(_ name: String, of node: NodeRecord, root: NodeRecord) -> (String?, [String]) {
        let dir = node.manifest.directory
        var candidates: [String] = []
        for path in node.manifest.lineagePaths {
            let base = Self.resolve(path, in: dir)
            candidates.append(Paths.join(base, name))
            candidates.append(base)
        }
        candidates.append(Paths.join(Paths.parent(dir), name))
        candidates.append(Paths.join(dir, ".loom/ancestors/\(name)"))
        candidates.append(Paths.join(root.manifest.directory, ".loom/ancestors/\(name)"))
        var searched: [String] = []
        for c in candidates {
            let path = Paths.normalized(c)
            if searched.contains(path) { continue }
            searched.append(path)
            if let m = try? NodeManifest.load(directory: path), m.name == name { return (path, searched) }
        }
        return (nil, searched)
    }

    /// `path` relative to `directory`, unless it is absolute.
    static func resolve(_ path: String, in directory: String) -> String {
        Paths.resolve(path, in: directory)
    }

    /// Immediate subfolders of `directory` that hold `file`, sorted by name.
    static func subfolders(of directory: String, containing file: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            let folder = Paths.join(directory, name)
            return FileManager.default.fileExists(atPath: Paths.join(folder, file)) ? folder : nil
        }
    }
}
