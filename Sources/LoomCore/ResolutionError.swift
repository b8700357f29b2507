/// Resolution failed: every problem, each explaining itself, with a kind to match on.
public struct ResolutionError: Error, Sendable, CustomStringConvertible {
    /// One reason resolution failed.
    public struct Problem: Sendable, Equatable {
        /// What went wrong, to act on without parsing ``message``.
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

        /// What went wrong.
        public var kind: Kind
        /// The message the user sees: names the requirer and what to change; for `noProvider`, every node
        /// searched and why each candidate was rejected.
        public var message: String
        /// The manifest the problem comes from (agent.toml, skill.toml or node.toml), when known.
        public var file: String?
        /// The capability concerned, for kinds about one capability.
        public var capability: String?

        /// A problem of `kind`; `file` and `capability` when known.
        public init(_ kind: Kind, _ message: String, file: String? = nil, capability: String? = nil) {
            self.kind = kind
            self.message = message
            self.file = file
            self.capability = capability
        }
    }

    /// The name of the node that was resolved (the root of the lineage).
    public var node: String
    /// Every problem found, in the order found: resolution does not stop at the first.
    public var failures: [Problem]
    /// The lineage's node names in C3 order, root first, against which ``traces`` are read.
    public var order: [String] = []
    /// The searches made before giving up, as in ``Resolution/traces``.
    public var traces: [String: Trace] = [:]

    /// An error for `node` with its `failures`, and the searches made (``order`` and ``traces``).
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

    /// The search for the capability `key` (`name@MAJOR`) as lines, every node looked at in order;
    /// empty when it was not searched.
    public func explanation(for key: String) -> [String] { traces[key]?.lines(order: order) ?? [] }
    /// `cannot resolve node 'NAME':` then each problem's message on its own line.
    public var description: String {
        "cannot resolve node '\(node)':\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}
