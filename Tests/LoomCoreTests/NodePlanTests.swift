import Foundation
@testable import LoomCore
import LoomTesting
import Testing

@Suite("NodePlan and loom.lock")
struct NodePlanTests {
    /// c(p): both provide x@1; C3 order picks c's new.x unless a lock pins p's old.x.
    static func pair() throws -> TemporaryFolder {
        try TemporaryFolder(merge(
            node("p", "name = \"p\"\n"),
            skill("p/skills/x", "name = \"old.x\"\nversion = \"1.0.0\"\nprovides = [\"x@1\"]\n"),
            node("c", "name = \"c\"\nparents = [\"p\"]\n"),
            skill("c/skills/x", "name = \"new.x\"\nversion = \"1.1.0\"\nprovides = [\"x@1\"]\n"),
            agent("c/agents/user", uses: ["x@1", "log@1"])
        ))
    }

    /// Writes a loom.lock for `c` that pins x@1 to p's old.x, with its real hash.
    static func lockOldX(_ tree: TemporaryFolder) throws {
        let entry = LockFile.Entry(capability: "x@1", skill: "old.x", version: "1.0.0", node: "p",
                                   hash: try SkillHasher.hash(directory: tree.path("p/skills/x")))
        try tree.write(["c/loom.lock": LockFile(node: "c", entries: [entry]).render()])
    }

    static func provider(_ plan: NodePlan, _ key: String) -> String? {
        guard case .skill(let s)? = plan.resolution.bindings[key]?.provider else { return nil }
        return "\(s.top.node)/\(s.top.name)"
    }

    @Test("without a lock: resolution in C3 order, no warning; --locked refuses, naming the missing file")
    func noLock() throws {
        let tree = try Self.pair()
        let plan = try NodePlan(directory: tree.path("c"))
        #expect(plan.lock == nil)
        #expect(plan.pins.isEmpty)
        #expect(Self.provider(plan, "x@1") == "c/new.x")
        #expect(plan.lockDifferences.isEmpty && plan.warnings.isEmpty)
        #expect(try plan.currentLock().entries.map(\.skill) == ["new.x"])
        do {
            _ = try NodePlan(directory: tree.path("c"), locked: true)
            Issue.record("expected --locked to fail without loom.lock")
        } catch {
            #expect(error.kind == .lockMissing)
            #expect(error.description.contains("loom.lock does not exist"))
        }
    }

    @Test("a valid lock pins its provider, even one a fresh resolution would not choose; --locked passes")
    func lockPins() throws {
        let tree = try Self.pair()
        try Self.lockOldX(tree)
        let plan = try NodePlan(directory: tree.path("c"))
        #expect(plan.pins["x@1"] == Resolver.Pin(node: "p", skill: "old.x"))
        #expect(Self.provider(plan, "x@1") == "p/old.x")
        #expect(plan.lockDifferences.isEmpty && plan.warnings.isEmpty)
        let locked = try NodePlan(directory: tree.path("c"), locked: true)
        #expect(Self.provider(locked, "x@1") == "p/old.x")
        #expect(try locked.currentLock() == locked.lock)
    }

    @Test("a stale lock: the pin that is no longer valid is dropped with a warning; --locked fails naming the difference")
    func staleLock() throws {
        let tree = try Self.pair()
        try Self.lockOldX(tree)
        try tree.write(["p/skills/x/init.lua": "-- edited\nreturn {}\n"])
        let plan = try NodePlan(directory: tree.path("c"))
        #expect(plan.pins.isEmpty)
        #expect(Self.provider(plan, "x@1") == "c/new.x")
        #expect(plan.lockDifferences.count == 1)
        let difference = try #require(plan.lockDifferences.first)
        #expect(difference.hasPrefix("x@1: provider old.x (p) -> new.x (c), version 1.0.0 -> 1.1.0"))
        #expect(plan.warnings.first?.contains("is out of date") == true)
        #expect(plan.warnings.first?.contains(difference) == true)
        // Nothing is written.
        #expect(try LockFile.load(file: tree.path("c/loom.lock")) == plan.lock)
        do {
            _ = try NodePlan(directory: tree.path("c"), locked: true)
            Issue.record("expected --locked to fail on a stale lock")
        } catch {
            #expect(error.kind == .lockDiffers)
            #expect(error.description.hasPrefix("loom.lock would change (--locked):\n  - x@1: provider old.x (p) -> new.x (c)"))
        }
    }

    @Test("a lock missing a capability now used, or listing one no longer used, differs")
    func addedAndRemoved() throws {
        let tree = try Self.pair()
        try Self.lockOldX(tree)
        try tree.write(merge(
            skill("c/skills/y", "name = \"y\"\nversion = \"1.0.0\"\nprovides = [\"y@1\"]\n"),
            agent("c/agents/user", uses: ["y@1"])
        ))
        do {
            _ = try NodePlan(directory: tree.path("c"), locked: true)
            Issue.record("expected --locked to fail")
        } catch {
            guard case .lockDiffers(_, let differences) = error.reason else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(differences == ["x@1: no longer needed (was old.x from p)", "y@1: new, y 1.0.0 from c"])
        }
    }

    @Test("the extra agent (loom test's) keeps the wanted capabilities that resolve, and is not compared with the lock")
    func extraAgent() throws {
        let tree = try Self.pair()
        try Self.lockOldX(tree)
        let extra = { (lineage: Lineage) in
            NodePlan.ExtraAgent(manifest: AgentManifest(name: "__test", uses: [try! CapabilityRef("log@1")],
                                                        directory: lineage.root.manifest.directory),
                                wanted: ["x@1", "nothing@1", "net.http@1"].map { try! CapabilityRef($0) })
        }
        let plan = try NodePlan(directory: tree.path("c"), locked: true, extraAgent: extra)
        #expect(plan.lineage.root.agents.first { $0.name == "__test" }?.uses.map(\.key) == ["log@1", "x@1"])
        #expect(Self.provider(plan, "x@1") == "p/old.x")
    }
}
