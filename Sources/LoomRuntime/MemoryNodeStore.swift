public import LoomMemory
import Synchronization

/// A store that keeps nothing on disk: for benchmarks and tests that measure the VM alone.
public final class MemoryNodeStore: NodeStore, Sendable {
    private struct Contents {
        var states: [String: [UInt8]] = [:]
        var status: [String: String] = [:]
    }
    private let contents = Mutex(Contents())

    public init() {}

    public func loadState(agent: String) throws -> [UInt8]? { contents.withLock { $0.states[agent] } }
    public func saveStates(_ s: [String: [UInt8]]) throws { contents.withLock { $0.states.merge(s) { _, b in b } } }
    public func setStatus(agent: String, status s: String, restarts: Int) throws { contents.withLock { $0.status[agent] = s } }
    public func statuses() throws -> [String: String] { contents.withLock { $0.status } }
    public func memoryStore() -> (any MemoryStore)? { nil }
}
