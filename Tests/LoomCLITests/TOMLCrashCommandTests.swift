import Foundation
import Testing

/// `loom check` on manifests that made toml++ (inside TOMLKit) abort the process (issue 14), as a
/// real process: it must end with status 1 and an error naming the file, line and column.
@Suite("loom check refuses TOML that aborted toml++")
struct TOMLCrashCommandTests {
    /// Reproducers, and where the error is: line and column.
    static let reproducers: [(text: String, line: Int, column: Int)] = [
        ("[é]\n", 1, 2),
        ("[[[not toml\n", 1, 3),
        ("parents = [}\n", 1, 12),
        ("name = \"x\"\nversion = \"1.0.0\"\n[é]\n", 3, 2),
    ]

    @Test("a skill.toml that aborted toml++ is an error with its file and line", .timeLimit(.minutes(2)),
          arguments: reproducers.indices)
    func skillManifest(_ index: Int) throws {
        let (text, line, column) = Self.reproducers[index]
        let root = try LoomProcess.tree(["node.toml": "name = \"hostile\"\n", "skills/x/skill.toml": text])
        defer { try? FileManager.default.removeItem(at: root) }
        let (output, timedOut, seconds) = try LoomProcess.run(["check", root.path], killAfter: 30)
        #expect(!timedOut, "still running after \(seconds) s")
        #expect(output.status == 1, "status \(output.status) (negative: killed by that signal)\n\(output.stderr)")
        let all = output.stdout + output.stderr
        #expect(all.contains("skills/x/skill.toml:\(line):\(column): error: TOML syntax"), "\(all)")
    }

    @Test("a node.toml that aborted toml++ is an error with its file and line", .timeLimit(.minutes(2)))
    func nodeManifest() throws {
        for (text, line, column) in Self.reproducers {
            let root = try LoomProcess.tree(["node.toml": text])
            defer { try? FileManager.default.removeItem(at: root) }
            let (output, timedOut, _) = try LoomProcess.run(["check", root.path], killAfter: 30)
            #expect(!timedOut)
            #expect(output.status == 1, "status \(output.status)\n\(output.stderr)")
            let all = output.stdout + output.stderr
            #expect(all.contains("node.toml:\(line):\(column): error: TOML syntax"), "\(all)")
        }
    }
}
