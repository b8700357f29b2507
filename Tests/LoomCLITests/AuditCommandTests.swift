import Foundation
import Testing

@Suite("loom audit")
struct AuditCommandTests {
    /// A copy of Examples/weaver with the standard skills beside it, so its memory starts empty.
    func weaver() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-audit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Examples"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: LoomProcess.packageRoot.appendingPathComponent("Examples/weaver"),
                                         to: root.appendingPathComponent("Examples/weaver"))
        try FileManager.default.copyItem(at: LoomProcess.packageRoot.appendingPathComponent("Skills"),
                                         to: root.appendingPathComponent("Skills"))
        try? FileManager.default.removeItem(at: root.appendingPathComponent("Examples/weaver/.loom"))
        return root.appendingPathComponent("Examples/weaver")
    }

    @Test("audits a tree, prints the summary and where the report is, and reuses memory the second time")
    func audit() throws {
        let node = try weaver()
        defer { try? FileManager.default.removeItem(at: node.deletingLastPathComponent().deletingLastPathComponent()) }
        let tree = try LoomProcess.tree([
            "README.md": "# T\n[gone](missing.md)\n",
            "src/main.lua": "local M = {}\n--- Says hi.\nfunction M.hi() return 'hi' end\nreturn M\n",
        ])
        defer { try? FileManager.default.removeItem(at: tree) }
        let out = tree.deletingLastPathComponent().appendingPathComponent("out-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let first = try LoomProcess.run(["audit", tree.path, "--node", node.path, "--out", out.path])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("2 files audited"))
        #expect(first.stdout.contains("integration-auditor"))
        #expect(first.stdout.contains("1 references checked, 1 broken"))
        #expect(first.stdout.contains("report: \(out.path)/AUDIT.md"))
        #expect(first.stderr.contains("integration-auditor"))   // progress per agent
        let report = try String(contentsOf: out.appendingPathComponent("AUDIT.md"), encoding: .utf8)
        #expect(report.contains("## Master action plan: the top ten priorities"))
        #expect(report.contains("Fix broken links in the docs"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("audit.json"))) as? [String: Any]
        #expect(json?["files"] as? Int == 2)
        let second = try LoomProcess.run(["audit", tree.path, "--node", node.path, "--out", out.path])
        #expect(second.status == 0)
        // code-archaeologist: 2 files, 0 analysed, 2 reused.
        #expect(second.stdout.split(separator: "\n").contains { $0.hasPrefix("code-archaeologist") && $0.contains(" 2         0       2 ") },
                "\(second.stdout)")
    }

    @Test("a missing or unreadable path is a clear error")
    func badPath() throws {
        let missing = try LoomProcess.run(["audit", "/nonexistent/loom-tree"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("error: /nonexistent/loom-tree does not exist; give the folder to audit"), "\(missing.stderr)")
        let file = try LoomProcess.run(["audit", "Package.swift"])
        #expect(file.status == 1)
        #expect(file.stderr.contains("is a file; give a folder to audit"))
        let noNode = try LoomProcess.run(["audit", ".", "--node", "/nonexistent/node"])
        #expect(noNode.status == 1)
        #expect(noNode.stderr.contains("node.toml"), "\(noNode.stderr)")
    }
}
