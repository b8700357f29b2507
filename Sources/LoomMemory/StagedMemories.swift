/// Memories lost by a group commit that failed: the transaction that was to store them did not
/// commit, so nobody may be told they were remembered. ``MemoryStore/commitStaged()`` reports it.
public struct MemoryCommitError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The database refused the transaction (disk full, I/O error, a locked file, ...).
        case database
        /// Another writer of the database (another process) stored memories under ids this store
        /// had already given to staged memories.
        case idsTaken
    }

    public var kind: Kind
    /// How many staged memories were lost.
    public var lost: Int
    /// The agents whose memories were lost, sorted.
    public var agents: [String]
    /// Why, for people.
    public var reason: String

    public init(_ kind: Kind, lost: Int, agents: [String], reason: String) {
        self.kind = kind
        self.lost = lost
        self.agents = agents
        self.reason = reason
    }

    public var description: String {
        let shown = agents.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (agents.count > 5 ? " and \(agents.count - 5) more" : "")
        return "\(lost) staged memories of \(shown) were not committed: \(reason)"
    }

    /// One report of this loss and `other`, both since the last ``MemoryStore/commitStaged()``.
    func adding(_ other: MemoryCommitError) -> MemoryCommitError {
        MemoryCommitError(other.kind, lost: lost + other.lost, agents: Array(Set(agents + other.agents)).sorted(),
                          reason: reason == other.reason ? reason : reason + "; " + other.reason)
    }
}

/// The memories a store keeps for its next group commit (see ``SQLiteMemoryStore/stage(_:)``), and
/// what failed commits lost since it last reported. Their ids are given out when they are staged:
/// consecutive from one past the table's largest id, read when the group opens.
struct StagedMemories {
    private(set) var memories: [Memory] = []
    /// The agents with a staged memory: a read of another agent's memories need not commit first.
    private(set) var agents: Set<String> = []
    /// The id the next staged memory gets; nil while no group is open.
    private var nextID: Int64?
    /// Lost since the last report.
    var lost: MemoryCommitError?

    var isEmpty: Bool { memories.isEmpty }

    /// Opens a group whose ids start at `firstID`, unless one is open already.
    mutating func open(firstID: Int64) {
        if nextID == nil { nextID = firstID }
    }

    /// Stages `memory` with the next id and returns the id; nil when no group is open.
    mutating func add(_ memory: Memory) -> Int64? {
        guard let id = nextID else { return nil }
        var m = memory
        m.id = id
        nextID = id + 1
        memories.append(m)
        agents.insert(m.agent)
        return id
    }

    /// Takes every staged memory out and closes the group: the next one reads the largest id again.
    mutating func take() -> [Memory] {
        defer {
            memories.removeAll(keepingCapacity: true)
            agents.removeAll(keepingCapacity: true)
            nextID = nil
        }
        return memories
    }

    /// Notes that `batch` was lost.
    mutating func recordLoss(_ batch: [Memory], _ kind: MemoryCommitError.Kind, _ reason: String) {
        guard !batch.isEmpty else { return }
        let error = MemoryCommitError(kind, lost: batch.count, agents: Array(Set(batch.map(\.agent))).sorted(), reason: reason)
        lost = lost.map { $0.adding(error) } ?? error
    }
}
