import Synchronization

/// The nodes of this process, by name, so that agents can address `node/agent`.
public final class NodeDirectory: Sendable {
    private let nodes = Mutex<[String: Node]>([:])

    public static let shared = NodeDirectory()

    public init() {}

    func register(_ node: Node) throws {
        try nodes.withLock { nodes in
            if nodes[node.name] != nil { throw ReplyError(.duplicateNode, "a node named '\(node.name)' is already running in this process") }
            nodes[node.name] = node
        }
    }

    func unregister(_ name: String) {
        _ = nodes.withLock { $0.removeValue(forKey: name) }
    }

    public func node(_ name: String) -> Node? {
        nodes.withLock { $0[name] }
    }
}
