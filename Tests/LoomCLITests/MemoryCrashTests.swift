import Foundation
import GRDB
import LoomMemory
import LoomRuntime
import Testing

@Suite("Memory durability")
struct MemoryCrashTests {
    @Test("a writer killed with SIGKILL at random points loses no acknowledged memory; the database stays intact")
    func sigkill() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try "name = \"crash\"\n".write(to: root.appendingPathComponent("node.toml"), atomically: true, encoding: .utf8)
        var acknowledged: Set<Int64> = []
        var generator = SystemRandomNumberGenerator()
        for round in 0..<12 {
            let process = Process()
            process.executableURL = LoomProcess.executable
            process.arguments = ["_memory-writer", root.path, "1000"]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = Pipe()
            try process.run()
            // Let it write for a random while (0 to 250 ms), then kill it without warning.
            Thread.sleep(forTimeInterval: Double(UInt64.random(in: 0...250, using: &generator)) / 1000)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Only complete lines were acknowledged (a line cut by the kill was not).
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            for line in lines { if let id = Int64(line) { acknowledged.insert(id) } }
            #expect(process.terminationReason == .uncaughtSignal || process.terminationStatus == 0, "round \(round)")
        }
        #expect(!acknowledged.isEmpty)
        let database = try SQLiteNodeStore.forNode(root.path)
        let stored = Set(try database.memory.all().map(\.id))
        #expect(acknowledged.isSubset(of: stored), "lost: \(acknowledged.subtracting(stored).sorted().prefix(10))")
        let queue = try DatabaseQueue(path: root.appendingPathComponent(".loom/node.sqlite").path)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }
}
