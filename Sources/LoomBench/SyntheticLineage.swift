public import LoomCore

/// A synthetic lineage for `loom bench resolve`: `layers` layers of `width` nodes (column 0 descends
/// from the whole layer above, the other columns from the node above them), `skillsPerNode` skills
/// per node, and a root that descends from the whole last layer and whose agents use every
/// capability.
///
/// Skill `col<k>.s<j>` of every node in column k provides `cap<k*skillsPerNode+j>@1` at version
/// `1.<layer>.0` and requires the next capability; half the requirements only accept versions of the
/// first layers (`<1.<layers/10>`), so their search crosses most of the lineage, and skill s0 of each
/// column extends the same skill of the node above, a chain as deep as the lineage.
public enum SyntheticLineage: Sendable {
    public static func make(layers: Int = 100, width: Int = 10, skillsPerNode: Int = 10) -> [String: NodeRecord] {
        var records: [String: NodeRecord] = [:]
        let capabilities = width * skillsPerNode
        // Even capabilities accept only the versions of the first tenth of the layers.
        let old = (try? VersionRange("<1.\(max(1, layers / 10))")) ?? .any
        func range(_ c: Int) -> VersionRange { c % 2 == 0 ? old : .any }
        func nodeName(_ l: Int, _ k: Int) -> String { "n\(l)-\(k)" }
        func manifest(_ name: String, parents: [String]) -> NodeManifest {
            NodeManifest(name: name, parents: parents, skills: [], agents: "agents", hub: nil, lineagePaths: [], prefer: [:],
                         constitution: .standard, memoryStore: "sqlite", directory: "/synthetic/\(name)")
        }
        for l in 0..<layers {
            for k in 0..<width {
                // Columns 1... are chains; column 0 descends from the whole layer above (diamonds).
                let parents = l == 0 ? [] : (k == 0 ? (0..<width).map { nodeName(l - 1, $0) } : [nodeName(l - 1, k)])
                var skills: [SkillManifest] = []
                for j in 0..<skillsPerNode {
                    let c = k * skillsPerNode + j
                    let next = (c + 1) % capabilities
                    skills.append(SkillManifest(
                        name: "col\(k).s\(j)", version: SemanticVersion(1, l, 0), description: "", entry: "init.lua",
                        provides: [CapabilityRef(name: "cap\(c)", major: 1)],
                        requires: [CapabilityRef(name: "cap\(next)", major: 1, range: range(next))], optional: [], conflicts: [],
                        permissions: [], extends: (j == 0 && l > 0) ? "col\(k).s\(j)" : nil,
                        limits: .init(), directory: "/synthetic/\(nodeName(l, k))/col\(k).s\(j)"))
                }
                let name = nodeName(l, k)
                records[name] = NodeRecord(manifest: manifest(name, parents: parents), skills: skills, agents: [])
            }
        }
        let rootParents = (0..<width).map { nodeName(layers - 1, $0) }
        let agent = AgentManifest(name: "user", domain: "general", description: "", behaviour: "agent.lua",
                                  uses: (0..<capabilities).map { CapabilityRef(name: "cap\($0)", major: 1, range: range($0)) }, directory: "/synthetic/root/agents/user")
        records["root"] = NodeRecord(manifest: manifest("root", parents: rootParents), skills: [], agents: [agent])
        return records
    }
}
