import LoomAudit
import LoomCore
import LoomRuntime

import Foundation

/// `loom bench audit`: the Everything Audit twice on one tree with a fresh memory: the first run
/// analyses every file, the second reuses what the auditors remembered.
public struct AuditBenchmark: Sendable {
    public struct Results: Sendable {
        public var files: Int
        public var firstSeconds: Double
        public var secondSeconds: Double
        public var reusedOnSecond: Int
        public var analysedOnSecond: Int
        /// The second run's time as a share of the first's.
        public var ratio: Double { firstSeconds > 0 ? secondSeconds / firstSeconds : 0 }
    }

    public var node: String
    public var tree: String

    public init(node: String, tree: String) {
        self.node = node
        self.tree = tree
    }

    public func run(progress: (String) -> Void = { _ in }) async throws -> Results {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A memory of its own, so the first run starts cold whatever the node remembers already.
        let store = try SQLiteNodeStore(path: root + "/node.sqlite")
        var audit = Audit(node: node, tree: tree, output: root + "/out")
        audit.store = store
        progress("first run (nothing remembered)")
        let first = try await audit.run()
        progress("second run (unchanged tree)")
        let second = try await audit.run()
        return Results(files: first.files, firstSeconds: first.seconds, secondSeconds: second.seconds,
                       reusedOnSecond: second.rows.reduce(0) { $0 + $1.reused },
                       analysedOnSecond: second.rows.reduce(0) { $0 + $1.analysed })
    }
}
