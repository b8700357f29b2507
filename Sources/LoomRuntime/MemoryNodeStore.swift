import Foundation
public import LoomMemory

/// A store that keeps nothing on disk: for benchmarks and tests that measure the VM alone.
public final class MemoryNodeStore: NodeStore, @unchecked Sendable {
    private let lock = NSLock()
    private var states: [String: [UInt8]] = [:]
    private var status: [String: String] = [:]

    public init() {}

    public func loadState(agent: String) throws -> [UInt8]? { lock.withLock { states[agent] } }
    public func saveStates(_ s: [String: [UInt8]]) throws { lock.withLock { states.merge(s) { _, b in b } } }
    public func setStatus(agent: String, status s: String, restarts: Int) throws { lock.withLock { status[agent] = s } }
    public func statuses() throws -> [String: String] { lock.withLock { status } }
    public func memoryStore() -> (any MemoryStore)? { nil }
}
