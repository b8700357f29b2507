public import Foundation

/// A node as the hub's directory holds it.
public struct DirectoryEntry: Sendable, Equatable {
    public var name: String
    /// The Ed25519 key that owns the name (32 raw bytes).
    public var key: Data
    /// The node then its ancestors, in C3 order.
    public var lineage: [String]
    /// Capabilities its skills provide (`name@major`).
    public var provides: [String]
    /// The rotation statement that made `key` current; empty when the first key still owns the name.
    public var rotation: String

    public init(name: String, key: Data, lineage: [String], provides: [String], rotation: String = "") {
        self.name = name
        self.key = key
        self.lineage = lineage
        self.provides = provides
        self.rotation = rotation
    }
}

/// A signed frame the hub keeps until its target acknowledges it.
public struct StoredFrame: Sendable, Equatable {
    /// Arrival order at the hub: delivery follows it, so each sender's frames go out in order.
    public var id: Int64
    public var sender: String
    public var sequence: UInt64
    public var target: String
    /// As the sender signed it, unchanged.
    public var content: Data
    public var signature: Data

    public init(id: Int64 = 0, sender: String, sequence: UInt64, target: String, content: Data, signature: Data) {
        self.id = id
        self.sender = sender
        self.sequence = sequence
        self.target = target
        self.content = content
        self.signature = signature
    }
}

/// Where a hub keeps its directory and the frames it has acknowledged but not yet delivered.
/// ``SQLiteHubStore`` is the embedded default.
///
/// A frame is acknowledged to its sender only after ``store(_:)`` returns: what the store holds
/// survives a crash of the hub. A frame leaves the store when its target acknowledges it
/// (``delivered(target:sender:through:)``).
public protocol HubStore: Sendable {
    func entry(_ name: String) async throws -> DirectoryEntry?
    func save(_ entry: DirectoryEntry) async throws
    func entries() async throws -> [DirectoryEntry]
    /// The highest sequence of `sender` ever stored (0 for none): frames up to it are taken.
    func storedThrough(_ sender: String) async throws -> UInt64
    /// Stores the frames whose sequence is above their sender's high-water mark, in order, and
    /// raises the mark; returns how many were new.
    @discardableResult
    func store(_ frames: [StoredFrame]) async throws -> Int
    /// Up to `limit` frames for `target`, in arrival order, after arrival `id`.
    func frames(for target: String, after id: Int64, limit: Int) async throws -> [StoredFrame]
    /// Forgets the frames of `sender` to `target` up to `through`: the target has them.
    func delivered(target: String, sender: String, through: UInt64) async throws
    /// Forgets every frame waiting for `target` (a session that went away).
    func discard(target: String) async throws
    /// How many frames wait for each target that has any.
    func waiting() async throws -> [String: Int]
}
