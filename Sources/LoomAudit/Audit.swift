import Foundation
import LoomCore
import LuaKit
public import LoomRuntime
import Synchronization

/// The Everything Audit: runs an audit node (Examples/weaver) on a folder and writes `AUDIT.md`
/// and `audit.json`.
///
/// The folder is granted to the node as the `fs.read@1` root `tree`; the node's
/// `result-synthesizer` runs the auditors and returns the report. Progress events the agents send
/// to `$host` reach `progress`.
public struct Audit: Sendable {
    /// One progress event: an auditor (or the synthesizer) and how far it is.
    public struct Event: Sendable {
        public var agent: String
        public var event: String
        public var done: Int
        public var total: Int
        public var analysed: Int
        public var reused: Int
        public var phase: String?
    }

    /// One auditor's line in the summary.
    public struct Row: Sendable {
        public var agent: String
        public var summary: String
        public var findings: Int
        public var files: Int
        public var analysed: Int
        public var reused: Int
    }

    public struct Result: Sendable {
        public var files: Int
        public var rows: [Row]
        public var failures: [String]
        public var markdownPath: String
        public var jsonPath: String
        public var seconds: Double
    }

    public var node: String
    public var tree: String
    public var output: String
    /// Whether auditors may reuse the per-file results they remember.
    public var reuse = true
    /// Fail when the audit node's loom.lock is missing or differs from its resolution.
    public var locked = false
    /// A node store to use instead of the node's own database (tests).
    public var store: (any NodeStore)?

    public init(node: String, tree: String, output: String) {
        self.node = node
        self.tree = tree
        self.output = output
    }

    public func run(progress: @escaping @Sendable (Event) -> Void = { _ in }) async throws -> Result {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: tree, isDirectory: &isFolder) else {
            throw AuditError("\(tree) does not exist; give the folder to audit")
        }
        guard isFolder.boolValue else { throw AuditError("\(tree) is a file; give a folder to audit") }
        guard FileManager.default.isReadableFile(atPath: tree), (try? FileManager.default.contentsOfDirectory(atPath: tree)) != nil else {
            throw AuditError("\(tree) cannot be read; check its permissions")
        }
        var options = NodeOptions()
        options.fileRoots = ["tree": tree]
        options.limits = LuaLimits(timeout: .seconds(30), memory: 2 << 30)
        options.askTimeout = .seconds(600)
        // The audit has its report when the task returns; nothing after it is waited for.
        options.shutdownGrace = .zero
        options.locked = locked
        options.idleTime = .seconds(3600)
        options.hostInbox = { agent, message in
            guard let t = message.table else { return }
            func int(_ key: LuaValue) -> Int { Int(t[key].integer ?? 0) }
            progress(Event(agent: t["agent"].string ?? agent, event: t["event"].string ?? "progress", done: int("done"),
                           total: int("total"), analysed: int("analysed"), reused: int("reused"), phase: t["phase"].string))
        }
        let clock = ContinuousClock()
        let start = clock.now
        let node = try Node(directory: self.node, options: options, store: store, directory: NodeDirectory())
        await node.start()
        let name = URL(fileURLWithPath: tree).standardizedFileURL.lastPathComponent
        let reply: LuaValue
        do {
            reply = try await node.ask("result-synthesizer", ["root": "tree", "name": .string(LuaString(name)), "reuse": .boolean(reuse)],
                                       timeout: .seconds(900))
        } catch {
            await node.shutdown()
            throw AuditError("the audit failed: \(error)")
        }
        await node.shutdown()
        guard let t = reply.table, let markdown = t["markdown"].luaString, let json = t["json"].luaString else {
            throw AuditError("result-synthesizer replied without a report: \(reply)")
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let md = Paths.join(output, "AUDIT.md")
        let js = Paths.join(output, "audit.json")
        try Data(markdown.bytes).write(to: URL(fileURLWithPath: md), options: .atomic)
        try Data(json.bytes).write(to: URL(fileURLWithPath: js), options: .atomic)
        let rows = (t["summary"].table?.array ?? []).compactMap { v -> Row? in
            guard let r = v.table else { return nil }
            return Row(agent: r["agent"].string ?? "?", summary: r["summary"].string ?? "", findings: Int(r["findings"].integer ?? 0),
                       files: Int(r["files"].integer ?? 0), analysed: Int(r["analysed"].integer ?? 0), reused: Int(r["reused"].integer ?? 0))
        }
        let failures = (t["failures"].table?.array ?? []).map { v in
            "\(v.table?["agent"].string ?? "?"): \(v.table?["error"].string ?? "?")"
        }
        return Result(files: Int(t["files"].integer ?? 0), rows: rows, failures: failures, markdownPath: md, jsonPath: js,
                      seconds: (clock.now - start).inSeconds)
    }
}

/// An audit that cannot run: the message says why and what to do.
public struct AuditError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
