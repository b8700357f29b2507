import Foundation
@testable import LoomRuntime
import LoomTesting
import LuaKit

/// A node folder in a temporary directory, built from agents' behaviours and skills.
final class NodeFixture {
    let folder = TemporaryFolder(prefix: "loom-rt")
    var root: String { folder.root }

    init(nodes: [String: (parents: [String], agents: [String: (uses: [String], lua: String)], skills: [String: (toml: String, lua: String)])]) throws {
        for (node, spec) in nodes {
            let parents = spec.parents.map { "\"\($0)\"" }.joined(separator: ", ")
            try write("\(node)/node.toml", "name = \"\(node)\"\nparents = [\(parents)]\n")
            for (agent, a) in spec.agents {
                let uses = a.uses.map { "\"\($0)\"" }.joined(separator: ", ")
                try write("\(node)/agents/\(agent)/agent.toml", "name = \"\(agent)\"\nuses = [\(uses)]\n")
                try write("\(node)/agents/\(agent)/agent.lua", a.lua)
            }
            for (skill, s) in spec.skills {
                try write("\(node)/skills/\(skill)/skill.toml", s.toml)
                try write("\(node)/skills/\(skill)/init.lua", s.lua)
            }
        }
    }

    func write(_ path: String, _ text: String) throws { try folder.write(path, text) }

    func path(_ node: String) -> String { folder.path(node) }
}

/// One node with the given agents (no skills).
func single(_ agents: [String: String]) throws -> NodeFixture {
    try NodeFixture(nodes: ["n": (parents: [], agents: agents.mapValues { (uses: [], lua: $0) }, skills: [:])])
}

func start(_ fixture: NodeFixture, _ node: String = "n", options: NodeOptions = NodeOptions(),
           directory: NodeDirectory = NodeDirectory()) async throws -> Node {
    let n = try Node(directory: fixture.path(node), options: options, directory: directory)
    await n.start()
    return n
}

extension Node {
    /// Queues several sends at once, on the node's executor.
    func sendAll(_ messages: [(String, LuaValue)]) throws {
        for (to, message) in messages { try send(to, message) }
    }
}
