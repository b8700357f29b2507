import Foundation

/// A node as the resolver sees it: its manifest, its skills and agents.
public struct NodeRecord: Sendable {
    public var manifest: NodeManifest
    public var skills: [SkillManifest]
    public var agents: [AgentManifest]
    /// Skills installed from bundles of nodes outside the lineage (`.loom/installed/`).
    public var foreignSkills: [SkillManifest]

    public init(manifest: NodeManifest, skills: [SkillManifest], agents: [AgentManifest], foreignSkills: [SkillManifest] = []) {
        self.manifest = manifest
        self.skills = skills
        self.agents = agents
        self.foreignSkills = foreignSkills
    }

    public var name: String { manifest.name }
}

/// A node and its ancestors in C3 order, the node first.
public struct Lineage: Sendable {
    public var nodes: [NodeRecord]
    public var root: NodeRecord { nodes[0] }
    public var order: [String] { nodes.map(\.name) }

    public init(nodes: [NodeRecord]) { self.nodes = nodes }

    /// Orders `root` and the given ancestors (found by name in `known`) with C3.
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
public struct NodeLoader: Sendable {
    public init() {}

    /// Loads the node in `directory`: node.toml, every skill folder (a folder with skill.toml) in its
    /// skill paths, every agent folder in its agents path, and installed foreign skills. All the
    /// manifests' problems are reported together.
    public func load(directory: String) throws(ManifestError) -> NodeRecord {
        let directory = (directory as NSString).standardizingPath
        let manifest = try NodeManifest.load(directory: directory)
        var diagnostics: [Diagnostic] = []
        var skills: [SkillManifest] = []
        for path in manifest.skills {
            for folder in Self.subfolders(of: Self.resolve(path, in: directory), containing: "skill.toml") {
                do { skills.append(try SkillManifest.load(directory: folder)) } catch { diagnostics += error.diagnostics }
            }
        }
        var agents: [AgentManifest] = []
        for folder in Self.subfolders(of: Self.resolve(manifest.agents, in: directory), containing: "agent.toml") {
            do { agents.append(try AgentManifest.load(directory: folder)) } catch { diagnostics += error.diagnostics }
        }
        var foreign: [SkillManifest] = []
        // .loom/installed/PUBLISHER--BUNDLE/skills/SKILL (from loom install), or a skill folder itself.
        let installed = (directory as NSString).appendingPathComponent(".loom/installed")
        for bundle in Self.subfolders(of: installed, containing: "") {
            let folders = FileManager.default.fileExists(atPath: (bundle as NSString).appendingPathComponent("skill.toml")) ? [bundle]
                : Self.subfolders(of: (bundle as NSString).appendingPathComponent("skills"), containing: "skill.toml")
            for folder in folders {
                do { foreign.append(try SkillManifest.load(directory: folder)) } catch { diagnostics += error.diagnostics }
            }
        }
        guard diagnostics.isEmpty else { throw ManifestError(diagnostics) }
        return NodeRecord(manifest: manifest, skills: skills, agents: agents, foreignSkills: foreign)
    }

    /// The node and all its ancestors, in C3 order.
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

    /// Where ancestor `name` of `node` is, and every place looked.
    public func findAncestor(_ name: String, of node: NodeRecord, root: NodeRecord) -> (String?, [String]) {
        let dir = node.manifest.directory
        var candidates: [String] = []
        for path in node.manifest.lineagePaths {
            let base = Self.resolve(path, in: dir)
            candidates.append((base as NSString).appendingPathComponent(name))
            candidates.append(base)
        }
        candidates.append(((dir as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name))
        candidates.append((dir as NSString).appendingPathComponent(".loom/ancestors/\(name)"))
        candidates.append((root.manifest.directory as NSString).appendingPathComponent(".loom/ancestors/\(name)"))
        var searched: [String] = []
        for c in candidates {
            let path = (c as NSString).standardizingPath
            if searched.contains(path) { continue }
            searched.append(path)
            if let m = try? NodeManifest.load(directory: path), m.name == name { return (path, searched) }
        }
        return (nil, searched)
    }

    /// `path` relative to `directory`, unless it is absolute.
    static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
    }

    /// Immediate subfolders of `directory` that hold `file`, sorted by name.
    static func subfolders(of directory: String, containing file: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            let folder = (directory as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(file)) ? folder : nil
        }
    }
}
