import Foundation
@testable import LoomCore
import LoomTesting
import Testing

@Suite("Host capabilities this version of Loom does not implement")
struct UnimplementedCapabilityTests {
    func failure(_ tree: TemporaryFolder) throws -> ResolutionError? {
        do {
            _ = try NodePlan(directory: tree.path("n"))
            return nil
        } catch {
            return error.resolutionError
        }
    }

    @Test("the host table says which capabilities use() serves")
    func table() {
        #expect(HostCapabilities.standard.implementedKeys == ["clock@1", "fs.read@1", "log@1", "memory@1", "messaging@1"])
        for key in ["fs.write@1", "net.http@1", "hub@1"] {
            #expect(HostCapabilities.standard.byKey[key]?.implemented == false)
        }
    }

    @Test("an agent that uses net.http@1 fails resolution, naming the capability and its agent.toml")
    func agentUses() throws {
        let tree = try TemporaryFolder(merge(node("n", "name = \"n\"\n"), agent("n/agents/fetcher", uses: ["net.http@1", "log@1"])))
        let error = try #require(try failure(tree))
        #expect(error.kinds == [.unimplementedCapability])
        let problem = try #require(error.failures.first)
        #expect(problem.capability == "net.http@1")
        #expect(problem.file == tree.path("n/agents/fetcher/agent.toml"))
        #expect(problem.message.contains("agent 'fetcher' requires net.http@1"))
        #expect(problem.message.contains(tree.path("n/agents/fetcher/agent.toml")))
        #expect(problem.message.contains("not implemented by this version of Loom"))
    }

    @Test("a skill that requires fs.write@1 fails naming its skill.toml; one that lists hub@1 as optional resolves without it")
    func skillRequiresAndOptional() throws {
        let tree = try TemporaryFolder(merge(
            node("n", "name = \"n\"\n"),
            skill("n/skills/writer", """
                name = "writer"
                version = "1.0.0"
                provides = ["writer@1"]
                requires = ["fs.write@1"]
                permissions = ["fs.write"]
                """),
            skill("n/skills/relay", """
                name = "relay"
                version = "1.0.0"
                provides = ["relay@1"]
                optional = ["hub@1"]
                permissions = ["hub"]
                """),
            agent("n/agents/a", uses: ["writer@1"]),
            agent("n/agents/b", uses: ["relay@1"])
        ))
        let error = try #require(try failure(tree))
        #expect(error.kinds == [.unimplementedCapability])
        #expect(error.failures.first?.file == tree.path("n/skills/writer/skill.toml"))
        #expect(error.problems.first?.contains("skill 'writer' (node n) requires fs.write@1") == true)
        try tree.write(agent("n/agents/a", uses: ["log@1"]))
        let plan = try NodePlan(directory: tree.path("n"))
        #expect(plan.resolution.bindings["relay@1"] != nil)
        #expect(plan.resolution.bindings["hub@1"] == nil)
    }

    @Test("a host table where a capability is implemented resolves it")
    func implementedHost() throws {
        let tree = try TemporaryFolder(merge(node("n", "name = \"n\"\n"), agent("n/agents/fetcher", uses: ["net.http@1"])))
        let host = HostCapabilities([HostCapability("net.http@1", version: SemanticVersion(1, 0, 0), permission: .net)])
        let plan = try NodePlan(directory: tree.path("n"), host: host)
        #expect(plan.resolution.bindings["net.http@1"] != nil)
    }
}
