public import Foundation

/// One memory of one agent: what it learned, and whether it worked.
public struct Memory: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Something that happened.
        case episodic
        /// Something known (a fact, a summary).
        case semantic
        /// How to do something.
        case procedural
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case worked, failed
    }

    public var id: Int64
    public var agent: String
    public var kind: Kind
    public var text: String
    public var tags: [String]
    /// 0 to 1.
    public var importance: Double
    public var outcome: Outcome?
    /// A task key, grouping memories about the same task (`learn`, `lessons`).
    public var task: String?
    /// Where it came from: the agent and node that wrote it, and the memory it was derived from.
    public var sourceAgent: String
    public var sourceNode: String
    public var derivedFrom: Int64?
    public var created: Double
    public var lastUsed: Double?
    public var useCount: Int
    public var expires: Double?

    public init(id: Int64 = 0, agent: String, kind: Kind = .episodic, text: String, tags: [String] = [],
                importance: Double = 0.5, outcome: Outcome? = nil, task: String? = nil, sourceAgent: String? = nil,
                sourceNode: String = "", derivedFrom: Int64? = nil, created: Double = Date().timeIntervalSince1970,
                lastUsed: Double? = nil, useCount: Int = 0, expires: Double? = nil) {
        self.id = id
        self.agent = agent
        self.kind = kind
        self.text = text
        self.tags = tags
        self.importance = importance
        self.outcome = outcome
        self.task = task
        self.sourceAgent = sourceAgent ?? agent
        self.sourceNode = sourceNode
        self.derivedFrom = derivedFrom
        self.created = created
        self.lastUsed = lastUsed
        self.useCount = useCount
        self.expires = expires
    }

    /// The longest text a memory may hold, in bytes.
    public static let maxTextBytes = 64 * 1024
    /// At most this many tags, each at most 64 bytes.
    public static let maxTags = 32
}

/// A memory as recall returns it, with its score and the parts of the score.
public struct RecalledMemory: Sendable, Equatable {
    public var memory: Memory
    public var score: Double
    public var relevance: Double
    public var recency: Double
}

/// What a bad memory request did wrong.
public struct MemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
