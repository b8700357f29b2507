/// Agent memory: each agent writes and reads its own memories. The embedded default is
/// ``SQLiteMemoryStore``, in the node's database.
public protocol MemoryStore: Sendable {
    /// Stores a memory and returns its id. Validates it first (``validate(_:)``).
    func remember(_ memory: Memory) throws -> Int64
    /// Stores many memories in one transaction.
    func remember(batch: [Memory]) throws -> [Int64]
    /// The agent's memories best matching `query`, ranked; marks them used.
    func recall(agent: String, query: String, options: RecallOptions) throws -> [RecalledMemory]
    /// Deletes the agent's memory `id`; false when the agent has no such memory.
    func forget(agent: String, id: Int64) throws -> Bool
    /// The agent's memories with task key `task` and an outcome, newest first.
    func lessons(agent: String, task: String) throws -> [Memory]
    /// Publishes the agent's memory `id` to the node commons; returns the commons entry's id.
    func share(agent: String, id: Int64) throws -> Int64
    /// Expired memories go; one agent's near-duplicates merge; many episodes of a task fold into a
    /// semantic summary. Deterministic. `agent` nil means every agent.
    func consolidate(agent: String?, now: Double) throws -> ConsolidationReport
    /// Writes whatever the store holds back (staged memories, recall's usage marks).
    func flush() throws

    /// Group commit: keeps a memory for the next ``commitStaged()``, which stores every memory
    /// staged since in one transaction. Validates it and returns its id now. Any other call that
    /// could see a staged memory (the same agent's recall, lessons or forget, any write that adds
    /// rows) commits what is staged first, so an agent reads its own writes.
    func stage(_ memory: Memory) throws -> Int64
    /// Commits the staged memories in one transaction. Throws when memories staged since the last
    /// call were lost: this commit failed, or an earlier one that another call made first did.
    /// A lost memory was never committed: whoever was to be told it was remembered must not be.
    func commitStaged() throws(MemoryCommitError)
}

extension MemoryStore {
    /// Without staging of its own, a store stores each memory at once.
    public func stage(_ memory: Memory) throws -> Int64 { try remember(memory) }
    public func commitStaged() throws(MemoryCommitError) {}
}

/// What a consolidation did.
public struct ConsolidationReport: Sendable, Equatable {
    public var expired = 0
    public var merged = 0
    public var folded = 0
    public var summaries = 0
    public init() {}
}

/// The node commons: shared memory, written only by `share`.
public enum Commons: Sendable {
    /// The agent name commons entries are stored under.
    public static let agent = "$commons"
}

extension Memory {
    /// Checks a memory before it is stored: the errors say what is wrong and the limit.
    public func validate() throws(MemoryError) {
        if text.allSatisfy({ $0.isWhitespace }) { throw MemoryError("the text is empty") }
        // SQLite keeps a NUL, but text read back stops at it: the index could not be kept in step.
        if text.utf8.contains(0) { throw MemoryError("the text contains a NUL byte; remove it") }
        if tags.contains(where: { $0.utf8.contains(0) }) || task?.utf8.contains(0) == true {
            throw MemoryError("tags and the task key cannot contain NUL bytes")
        }
        let bytes = text.utf8.count
        if bytes > Memory.maxTextBytes {
            throw MemoryError("the text is \(bytes) bytes; the limit is \(Memory.maxTextBytes)")
        }
        if !(0...1).contains(importance) || importance.isNaN {
            throw MemoryError("importance must be between 0 and 1 (got \(importance))")
        }
        if tags.count > Memory.maxTags { throw MemoryError("at most \(Memory.maxTags) tags (got \(tags.count))") }
        for tag in tags where tag.isEmpty || tag.utf8.count > 64 || Self.hasWhitespace(tag) {
            throw MemoryError("tag \"\(tag)\" must be 1 to 64 bytes without spaces")
        }
        if let task, task.isEmpty || task.utf8.count > 256 { throw MemoryError("the task key must be 1 to 256 bytes") }
    }

    /// Whether `text` holds a whitespace character (Unicode's White_Space), ASCII looked at byte by
    /// byte: this runs for every tag of every memory stored.
    static func hasWhitespace(_ text: String) -> Bool {
        for byte in text.utf8 {
            if byte >= 0x80 { return text.unicodeScalars.contains { $0.properties.isWhitespace } }
            if byte == 0x20 || (0x09...0x0D).contains(byte) { return true }
        }
        return false
    }
}
