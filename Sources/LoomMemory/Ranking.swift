import Foundation

/// How recall scores a memory. Configurable per node.
///
///     score = text × relevance + recency × 2^(−age / halfLife) + importance × importance
///             + outcome × (1 if worked, −1 if failed, 0 otherwise)
///
/// `relevance` is FTS5's bm25 turned into 0…1 as `b / (1 + b)` (bm25 is negated so larger is
/// better); with an empty query it is 0 and recall orders by the other terms. `age` is the time
/// since the memory was created.
///
/// A commons entry's score is multiplied by its author's track record, `(worked + 1) / (worked +
/// failed + 2)` over the author's own memories with an outcome: an author whose lessons mostly
/// failed, or a fresh author with no record (0.5), weighs less than one whose lessons worked. A
/// poisoning agent must first build a record of successes, in its own memory, to be heard.
public struct Ranking: Sendable, Equatable {
    public var text: Double = 1.0
    public var recency: Double = 0.3
    public var importance: Double = 0.3
    public var outcome: Double = 0.2
    /// Seconds for the recency term to halve. Default one week.
    public var halfLife: Double = 7 * 24 * 3600

    public init() {}

    public func score(relevance: Double, age: Double, memory: Memory) -> (score: Double, recency: Double) {
        score(relevance: relevance, age: age, importance: memory.importance, outcome: memory.outcome)
    }

    public func score(relevance: Double, age: Double, importance memoryImportance: Double,
                      outcome memoryOutcome: Memory.Outcome?) -> (score: Double, recency: Double) {
        let recencyTerm = pow(2, -max(0, age) / max(1, halfLife))
        let outcomeTerm: Double = switch memoryOutcome {
        case .worked?: 1
        case .failed?: -1
        case nil: 0
        }
        let s = text * relevance + recency * recencyTerm + importance * memoryImportance + outcome * outcomeTerm
        return (s, recencyTerm)
    }
}

/// What recall looks for.
public struct RecallOptions: Sendable, Equatable {
    /// How many memories to return (1…100).
    public var k = 5
    public var kinds: [Memory.Kind] = []
    /// Every tag must be present.
    public var tags: [String] = []
    /// Only memories created at or after this time (Unix seconds).
    public var since: Double?
    /// Include the node commons. Their scores are multiplied by their author's track record.
    public var commons = false
    public var now: Double = Date().timeIntervalSince1970

    public init() {}
}
