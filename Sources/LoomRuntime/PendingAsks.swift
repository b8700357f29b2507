import LuaKit

/// The asks waiting for a reply, by request number, and the numbering of new requests.
struct PendingAsks {
    /// Who waits for a reply.
    enum Waiter {
        /// An agent of this node waits in `ask`.
        case agent(String)
        /// An agent waits in `ask_all`: the group it belongs to and its position.
        case group(String, Int)
        /// Host code waits (Node.ask).
        case external(CheckedContinuation<LuaValue, any Error>)
        /// Host code waits for many replies at once (Node.ask(many:)): the group and the position.
        case hostGroup(HostAskGroup, Int)

        /// The agent that waits, when it is one of the node's.
        var agent: String? {
            switch self {
            case .agent(let name), .group(let name, _): name
            case .external, .hostGroup: nil
            }
        }
    }

    private var waiters: [UInt64: Waiter] = [:]
    private var next: UInt64 = 1

    init() {}

    /// A new request number for `waiter`.
    mutating func add(_ waiter: Waiter) -> UInt64 {
        let id = next
        next += 1
        waiters[id] = waiter
        return id
    }

    /// Whoever waits for request `id`, no longer waiting (nil when it timed out already or was dropped).
    mutating func remove(_ id: UInt64) -> Waiter? {
        waiters.removeValue(forKey: id)
    }

    func contains(_ id: UInt64) -> Bool { waiters[id] != nil }

    var count: Int { waiters.count }

    /// Drops every ask that `agent` waits on (its call in flight was stopped).
    mutating func removeAll(of agent: String) {
        for (id, waiter) in waiters where waiter.agent == agent {
            waiters[id] = nil
        }
    }

    /// Drops these requests (an `ask_all` that ended).
    mutating func remove<S: Sequence>(_ ids: S) where S.Element == UInt64 {
        for id in ids { waiters[id] = nil }
    }

    /// Takes every waiter out (the node shuts down).
    mutating func removeAll() -> [Waiter] {
        defer { waiters.removeAll() }
        return Array(waiters.values)
    }
}

/// The replies host code waits for in one ``Node/ask(many:timeout:)``: filled in by position, and
/// handed over when the last one arrives. Only the node's actor touches it.
final class HostAskGroup {
    private var results: [Result<LuaValue, ReplyError>?]
    private var remaining: Int
    private let continuation: CheckedContinuation<[Result<LuaValue, ReplyError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<LuaValue, ReplyError>], Never>) {
        results = Array(repeating: nil, count: count)
        remaining = count
        self.continuation = continuation
    }

    /// The reply at `index`; the last one resumes the host's caller with them all.
    func answer(_ index: Int, _ result: Result<LuaValue, ReplyError>) {
        guard results[index] == nil else { return }
        results[index] = result
        remaining -= 1
        if remaining == 0 { continuation.resume(returning: results.map { $0! }) }
    }
}
