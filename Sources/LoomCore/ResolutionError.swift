/// Resolution failed: every problem, each explaining itself, with a kind to match on.
public struct ResolutionError: Error, Sendable, CustomStringConvertible {
    /// One reason resolution failed.
    public struct Problem: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            /// No skill in the lineage provides the capability in range.
            case noProvider
            /// A capability already resolved to a provider outside another requirer's range.
            case outOfRange
            /// The host provides the capability at a version outside the range asked for.
            case hostVersion
            /// The host names the capability but this version of Loom does not implement it.
            case unimplementedCapability
            /// Two providers in one node and no `[prefer]` to choose.
            case ambiguous
            /// A skill `extends` a skill that no later node has.
            case missingExtends
            /// Two resolved skills conflict.
            case conflict
            /// A permission the constitution refuses, or one a skill needs but does not declare.
            case permission
        }

        public var kind: Kind
        public var message: String
        /// The manifest the problem comes from (agent.toml, skill.toml or node.toml), when known.
        public var file: String?
        /// The capability concerned, for kinds about one capability.
        public var capability: String?

        public init(_ kind: Kind, _ message: String, file: String? = nil, capability: String? = nil) {
            self.kind = kind
            self.message = message
            self.file = file
            self.capability = capability
        }
    }

    public var node: String
    public var failures: [Problem]
    public var order: [String] = []
    /// The searches made before giving up, as in ``Resolution/traces``.
    public var traces: [String: Trace] = [:]

    public init(node: String, failures: [Problem], order: [String] = [], traces: [String: Trace] = [:]) {
        self.node = node
        self.failures = failures
        self.order = order
        self.traces = traces
    }

    /// The problems' messages.
    public var problems: [String] { failures.map(\.message) }
    /// The kinds of the problems, for callers that act on them.
    public var kinds: [Problem.Kind] { failures.map(\.kind) }

    public func explanation(for key: String) -> [String] { traces[key]?.lines(order: order) ?? [] }
    public var description: String {
        "cannot resolve node '\(node)':\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}
