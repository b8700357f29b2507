import Foundation
import GRDB
import LoomMemory
import LoomRuntime
import Testing

@Suite("loom run --stdin")
struct TaskStreamTests {
    /// A node whose `scribe` remembers each task and replies with the memory's id.
    static func scribeNode() throws -> URL {
        try LoomProcess.tree([
            "n/node.toml": "name = \"n\"\n",
            "n/agents/scribe/agent.toml": "name = \"scribe\"\nuses = [\"memory@1\"]\n",
            "n/agents/scribe/agent.lua": """
                local memory = use("memory@1")
                function on_task(t)
                  if t == "fail" then error("asked to fail") end
                  return tostring(memory.remember(t))
                end
                """,
        ]).appendingPathComponent("n")
    }

    /// A file of `count` tasks, one a line.
    static func tasks(_ count: Int, prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("loom-tasks-\(UUID().uuidString)")
        let text = (1...count).map { "\(prefix) \($0)" }.joined(separator: "\n") + "\n"
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func json(_ line: Substring) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    @Test("every line is a task; each reply is a JSON line with the line's number; a failure has its kind and the exit status is 1")
    func stream() throws {
        let node = try Self.scribeNode()
        defer { try? FileManager.default.removeItem(at: node.deletingLastPathComponent()) }
        let process = Process()
        process.executableURL = LoomProcess.executable
        process.arguments = ["run", node.path, "--to", "scribe", "--stdin", "--in-flight", "3"]
        let input = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // A reply comes while the input is still open: replies are not held back until the end.
        input.fileHandleForWriting.write(Data("first task\n".utf8))
        var buffer = Data()
        while !buffer.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer += chunk
        }
        let firstLine = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first ?? ""
        #expect(Self.json(firstLine)?["line"] as? Int == 1)
        #expect(Self.json(firstLine)?["reply"] as? String == "1")
        input.fileHandleForWriting.write(Data("second\nfail\nthird\n".utf8))
        try input.fileHandleForWriting.close()
        buffer += out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n").compactMap(Self.json)
        #expect(lines.count == 4)
        var byLine: [Int: [String: Any]] = [:]
        for l in lines { if let n = l["line"] as? Int { byLine[n] = l } }
        #expect(Set(byLine.keys) == [1, 2, 3, 4])
        #expect(byLine[3]?["kind"] as? String == "handlerFailed")
        #expect((byLine[3]?["error"] as? String)?.contains("asked to fail") == true)
        #expect(process.terminationStatus == 1)
        let texts = try SQLiteNodeStore.forNode(node.path).memory.all().map(\.text)
        #expect(Set(texts) == ["first task", "second", "third"])
    }

    @Test("kill -9 while tasks stream: every remember whose reply was printed is in the database")
    func sigkill() throws {
        let node = try Self.scribeNode()
        defer { try? FileManager.default.removeItem(at: node.deletingLastPathComponent()) }
        var acknowledged: [Int64: String] = [:]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<6 {
            let tasks = try Self.tasks(200_000, prefix: "round \(round) task")
            defer { try? FileManager.default.removeItem(at: tasks) }
            let process = Process()
            process.executableURL = LoomProcess.executable
            process.arguments = ["run", node.path, "--to", "scribe", "--stdin", "--in-flight", round % 2 == 0 ? "256" : "4"]
            process.standardInput = try FileHandle(forReadingFrom: tasks)
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Read replies as they come; after a random number of them, kill without warning.
            let killAfter = Int.random(in: 200...3000, using: &generator)
            var buffer = Data(), replies = 0
            while replies < killAfter {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer += chunk
                replies += chunk.count(where: { $0 == 0x0A })
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal, "round \(round) ended before the kill")
            // Whatever it printed before it died was acknowledged (a line cut by the kill was not).
            buffer += out.fileHandleForReading.readDataToEndOfFile()
            let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            for line in lines {
                guard let reply = Self.json(line), let n = reply["line"] as? Int, let id = (reply["reply"] as? String).flatMap({ Int64($0) }) else {
                    Issue.record("not an acknowledgement: \(line)")
                    continue
                }
                acknowledged[id] = "round \(round) task \(n)"
            }
        }
        #expect(acknowledged.count >= 800)
        let stored = try SQLiteNodeStore.forNode(node.path).memory.all()
        let texts = Dictionary(uniqueKeysWithValues: stored.map { ($0.id, $0.text) })
        let lost = acknowledged.filter { texts[$0.key] != $0.value }
        #expect(lost.isEmpty, "\(lost.count) of \(acknowledged.count) acknowledged remembers lost, e.g. \(lost.sorted { $0.key < $1.key }.prefix(5))")
        let queue = try DatabaseQueue(path: node.appendingPathComponent(".loom/node.sqlite").path)
        #expect(try queue.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }
}
