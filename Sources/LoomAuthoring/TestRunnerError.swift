/// Why `loom test` could not run: a path that does not exist, or a node that was not opened with
/// the test agent.
public struct TestRunnerError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A path given to `loom test` does not exist.
        case noSuchPath
        /// The node has no `__test` agent (it was opened without ``TestRunner``'s extra agent).
        case noTestAgent
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
