import Foundation
@testable import LoomCore
import LoomTesting
import Testing

@Suite("Resolver")
struct ResolverTests {
    /// child(weaver, acgee); weaver(base); acgee(base). search.basic is overridden at every level.
    static func family(childExtras: [String: String] = [:], childToml: String? = nil) throws -> TemporaryFolder {
        try TemporaryFolder(merge(
            node("base", "name = \"base\"\n"),
            skill("base/skills/search", "name = \"search.basic\"\nversion = \"1.0.0\"\nprovides = [\"search@1\"]\n"),
            skill("base/skills/text", "name = \"text.scan\"\nversion = \"1.3.0\"\nprovides = [\"text.scan@1\"]\n"),
            node("weaver", "name = \"weaver\"\nparents = [\"base\"]\n"),
            skill("weaver/skills/search", """
                name = "search.basic"
                version = "1.1.0"
                provides = ["search@1"]
                extends = "search.basic"
                requires = ["text.scan@1 >=1.1", "log@1"]
                permissions = ["log"]
                """),
            node("acgee", "name = \"acgee\"\nparents = [\"base\"]\n"),
            skill("acgee/skills/fancy", "name = \"fancy.search\"\nversion = \"2.1.0\"\nprovides = [\"search@2\"]\n"),
            node("child", childToml ?? "name = \"child\"\nparents = [\"weaver\", \"acgee\"]\n"),
            skill("child/skills/search", """
                name = "search.basic"
                version = "1.2.0"
                provides = ["search@1"]
                extends = "search.basic"
                """),
            agent("child/agents/finder", uses: ["search@1", "memory@1"]),
            childExtras
        ))
    }

    func resolve(_ tree: TemporaryFolder, _ dir: String = "child") throws -> Resolution {
        try Resolver().resolve(try NodeLoader().lineage(of: tree.path(dir)))
    }

    func failure(_ tree: TemporaryFolder, _ dir: String = "child") throws -> String {
        do {
            _ = try resolve(tree, dir)
            Issue.record("expected resolution to fail")
            return ""
        } catch let error as ResolutionError {
            return error.description
        } catch let error as LineageError {
            return error.description
        }
    }

    @Test("the first node in C3 order provides; an override chain three levels deep")
    func overrideChain() throws {
        let tree = try Self.family()
        let lineage = try NodeLoader().lineage(of: tree.path("child"))
        #expect(lineage.order == ["child", "weaver", "acgee", "base"])
        let r = try Resolver().resolve(lineage)
        guard case .skill(let s)? = r.bindings["search@1"]?.provider else {
            Issue.record("search@1 not resolved to a skill")
            return
        }
        #expect(s.layers.map(\.node) == ["child", "weaver", "base"])
        #expect(s.layers.map(\.version.description) == ["1.2.0", "1.1.0", "1.0.0"])
        // weaver's layer requires text.scan and log: resolved transitively.
        guard case .skill(let text)? = r.bindings["text.scan@1"]?.provider else {
            Issue.record("text.scan@1 not resolved")
            return
        }
        #expect(text.top.node == "base")
        guard case .host? = r.bindings["memory@1"]?.provider else {
            Issue.record("memory@1 should come from the host")
            return
        }
        #expect(r.agents["finder"] == ["search@1", "memory@1"])
    }

    @Test("no provider: the search is listed in order")
    func noProvider() throws {
        let tree = try Self.family(childExtras: agent("child/agents/lost", uses: ["missing.cap@1"]))
        let message = try failure(tree)
        #expect(message.contains("no provider of missing.cap@1 for agent 'lost'; searched, in order:"))
        #expect(message.contains("child has no skill providing missing.cap"))
        #expect(message.contains("base has no skill providing missing.cap"))
    }

    @Test("a provider out of range says why it was rejected")
    func outOfRange() throws {
        let tree = try Self.family(childExtras: agent("child/agents/picky", uses: ["text.scan@1 >=2.0", "search@3"]))
        let message = try failure(tree)
        #expect(message.contains("base has text.scan@1 (1.3.0) in text.scan, outside >=2.0"))
        #expect(message.contains("acgee has search@2 (2.1.0) in fancy.search, outside @3"))
    }

    @Test("two providers in one node are an error; [prefer] picks one")
    func twoProviders() throws {
        let extra = skill("child/skills/other", "name = \"other.search\"\nversion = \"1.5.0\"\nprovides = [\"search@1\"]\n")
        let tree = try Self.family(childExtras: extra)
        let message = try failure(tree)
        #expect(message.contains("node 'child' has two providers of search@1: other.search (1.5.0), search.basic (1.2.0)"))
        #expect(message.contains("add [prefer]"))
        let preferred = try Self.family(childExtras: extra, childToml: """
            name = "child"
            parents = ["weaver", "acgee"]
            [prefer]
            "search@1" = "other.search"
            """)
        let r = try resolve(preferred)
        guard case .skill(let s)? = r.bindings["search@1"]?.provider else {
            Issue.record("not resolved")
            return
        }
        #expect(s.top.name == "other.search")
    }

    @Test("conflicts are errors")
    func conflicts() throws {
        let tree = try Self.family(childExtras: merge(
            skill("child/skills/legacy", "name = \"legacy.text\"\nversion = \"1.0.0\"\nprovides = [\"legacy@1\"]\nconflicts = [\"text.scan\"]\n"),
            agent("child/agents/old", uses: ["legacy@1"])))
        let message = try failure(tree)
        #expect(message.contains("skill 'legacy.text' (node child) conflicts with 'text.scan', which is also resolved"))
    }

    @Test("a permission beyond the constitution is an error at resolution")
    func permissionBeyondConstitution() throws {
        let tree = try Self.family(childToml: """
            name = "child"
            parents = ["weaver", "acgee"]
            [constitution]
            lineage = ["memory"]
            """)
        let message = try failure(tree)
        #expect(message.contains("skill 'search.basic' (node weaver, lineage) asks for permission 'log', which [constitution] lineage of node 'child' does not allow"))
    }

    @Test("requiring a host capability needs its permission")
    func hostPermission() throws {
        let tree = try Self.family(childExtras: merge(
            skill("child/skills/reader", "name = \"reader\"\nversion = \"1.0.0\"\nprovides = [\"reader@1\"]\nrequires = [\"fs.read@1\"]\n"),
            agent("child/agents/r", uses: ["reader@1"])))
        let message = try failure(tree)
        #expect(message.contains("skill 'reader' (node child) requires fs.read@1 but does not declare the permission 'fs.read'"))
    }

    @Test("a missing ancestor lists where it looked; a cycle names its path")
    func lineageErrors() throws {
        let missing = try TemporaryFolder(node("lone", "name = \"lone\"\nparents = [\"ghost\"]\n[lineage]\npaths = [\"../vault\"]\n"))
        let message = try failure(missing, "lone")
        #expect(message.contains("node 'lone' names parent 'ghost', which was not found; looked in:"))
        #expect(message.contains("vault/ghost"))
        #expect(message.contains(".loom/ancestors/ghost"))
        let cyclic = try TemporaryFolder(merge(node("a", "name = \"a\"\nparents = [\"b\"]\n"), node("b", "name = \"b\"\nparents = [\"a\"]\n")))
        #expect(try failure(cyclic, "a").contains("lineage cycle: a -> b -> a"))
    }

    @Test("ancestors are found through [lineage] paths and .loom/ancestors")
    func ancestorSearch() throws {
        let tree = try TemporaryFolder(merge(
            node("home/child", "name = \"child\"\nparents = [\"far\", \"installed\"]\n[lineage]\npaths = [\"../../elsewhere\"]\n"),
            node("elsewhere/far", "name = \"far\"\n"),
            node("home/child/.loom/ancestors/installed", "name = \"installed\"\n")))
        let lineage = try NodeLoader().lineage(of: tree.path("home/child"))
        #expect(lineage.order == ["child", "far", "installed"])
    }

    @Test("the lock file is stable, reused while valid, and --locked names a difference")
    func lockFile() throws {
        let tree = try Self.family()
        let lineage = try NodeLoader().lineage(of: tree.path("child"))
        let first = try LockFile(resolution: try Resolver().resolve(lineage), hash: SkillHasher.hash)
        let second = try LockFile(resolution: try Resolver().resolve(try NodeLoader().lineage(of: tree.path("child"))), hash: SkillHasher.hash)
        #expect(first.render() == second.render())
        #expect(Array(first.render().utf8) == Array(second.render().utf8))
        #expect(try LockFile.parse(text: first.render(), file: "loom.lock") == first)
        #expect(first.entries.map(\.capability) == ["search@1", "text.scan@1"])
        #expect(first.render().contains("hash = \"sha256:"))

        // Pins from a valid lock keep a provider even when a new one appears earlier in the order.
        try tree.write(skill("child/skills/text", "name = \"text.fast\"\nversion = \"1.4.0\"\nprovides = [\"text.scan@1\"]\n"))
        let grown = try NodeLoader().lineage(of: tree.path("child"))
        let pins = first.pins(in: grown, hash: SkillHasher.hash)
        let pinned = try LockFile(resolution: try Resolver().resolve(grown, pins: pins), hash: SkillHasher.hash)
        #expect(pinned == first)
        let fresh = try LockFile(resolution: try Resolver().resolve(grown), hash: SkillHasher.hash)
        #expect(first.differences(to: fresh) == ["text.scan@1: provider text.scan (base) -> text.fast (child), version 1.3.0 -> 1.4.0, "
            + "files changed (\(first.entries[1].hash.prefix(19))… -> \(fresh.entries[1].hash.prefix(19))…)"])

        // Editing a locked skill's files invalidates its pin, and the difference says so.
        try tree.write(["base/skills/search/init.lua": "return { changed = true }\n"])
        let edited = try NodeLoader().lineage(of: tree.path("child"))
        let after = try LockFile(resolution: try Resolver().resolve(edited, pins: first.pins(in: edited, hash: SkillHasher.hash)), hash: SkillHasher.hash)
        #expect(first.differences(to: after).isEmpty)   // search@1's top layer is child's, unchanged
        try tree.write(["child/skills/search/init.lua": "return { changed = true }\n"])
        let edited2 = try NodeLoader().lineage(of: tree.path("child"))
        let after2 = try LockFile(resolution: try Resolver().resolve(edited2, pins: first.pins(in: edited2, hash: SkillHasher.hash)), hash: SkillHasher.hash)
        let diff = first.differences(to: after2)
        #expect(diff.count == 1)
        #expect(diff.first?.hasPrefix("search@1: files changed") == true)
    }
}
