import Foundation
import LoomMemory
import LoomRuntime
import Testing

@Suite("loom memory")
struct MemoryCommandTests {
    func node(_ root: URL, _ name: String) throws -> URL {
        let dir = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "name = \"\(name)\"\n".write(to: dir.appendingPathComponent("node.toml"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test("export then import round-trips exactly; stats, search, consolidate and backup work")
    func roundTrip() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-mem-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let a = try node(root, "alpha"), b = try node(root, "beta")
        let store = try SQLiteNodeStore.forNode(a.path).memory
        let id = try store.remember(Memory(agent: "scholar", kind: .semantic, text: "héllo \"quoted\" memory\nwith a newline",
                                           tags: ["x", "y"], importance: 0.25, outcome: .worked, task: "t", created: 1234.5,
                                           expires: 99_999_999_999))
        _ = try store.share(agent: "scholar", id: id)
        _ = try store.remember(Memory(agent: "other", text: "plain", created: 1))
        let exported = try LoomProcess.run(["memory", a.path, "export", "--jsonl"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.split(separator: "\n").count == 3)
        let file = root.appendingPathComponent("dump.jsonl")
        try exported.stdout.write(to: file, atomically: true, encoding: .utf8)
        let imported = try LoomProcess.run(["memory", b.path, "import", file.path])
        #expect(imported.stdout == "imported 3 memories\n", "\(imported.stderr)")
        let again = try LoomProcess.run(["memory", b.path, "export", "--jsonl"])
        #expect(again.stdout == exported.stdout)
        #expect(try SQLiteNodeStore.forNode(b.path).memory.all() == store.all())
        let twice = try LoomProcess.run(["memory", b.path, "import", file.path])
        #expect(twice.status == 1)
        #expect(twice.stderr.contains("already exists"))

        let stats = try LoomProcess.run(["memory", a.path, "stats"])
        #expect(stats.stdout.contains("memories: 3"))
        #expect(stats.stdout.contains("$commons: 1"))
        let search = try LoomProcess.run(["memory", a.path, "search", "quoted memory", "--agent", "scholar"])
        #expect(search.stdout.contains("scholar  [semantic]"))
        let consolidate = try LoomProcess.run(["memory", a.path, "consolidate"])
        #expect(consolidate.stdout.hasPrefix("expired 0, merged 0"))
        let backupFile = root.appendingPathComponent("backup.sqlite").path
        let backup = try LoomProcess.run(["memory", a.path, "backup", backupFile])
        #expect(backup.status == 0, "\(backup.stderr)")
        let copy = try SQLiteNodeStore(path: backupFile)
        #expect(try copy.memory.all() == store.all())
    }

    @Test("bad input: not a node, a corrupt import line")
    func badInput() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-mem-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let notNode = try LoomProcess.run(["memory", root.path, "stats"])
        #expect(notNode.status == 2)
        #expect(notNode.stderr.contains("is not a node"))
        let n = try node(root, "gamma")
        let file = root.appendingPathComponent("bad.jsonl")
        try "{\"id\": 1, \"agent\": \"a\", \"kind\": \"dream\"}\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try LoomProcess.run(["memory", n.path, "import", file.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("line 1: unknown kind"))
    }
}
