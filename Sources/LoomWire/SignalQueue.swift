import Synchronization

/// A queue one task drains and any task fills: ``push(_:)`` never waits, ``next()`` waits until
/// something is queued (and takes everything), ``close()`` ends it. ``waitBelow(_:)`` lets a
/// producer hold back while the consumer (a stream's writer) is behind.
public final class SignalQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var closed = false
        var consumer: CheckedContinuation<[Element]?, Never>?
        var producers: [CheckedContinuation<Void, Never>] = []
        var inFlight = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Queues `item`; false when the queue is closed.
    @discardableResult
    public func push(_ item: Element) -> Bool { push(contentsOf: [item]) }

    @discardableResult
    public func push(contentsOf items: [Element]) -> Bool {
        guard !items.isEmpty else { return !state.withLock { $0.closed } }
        let (consumer, taken): (CheckedContinuation<[Element]?, Never>?, [Element]) = state.withLock { s in
            guard !s.closed else { return (nil, []) }
            s.items.append(contentsOf: items)
            guard let c = s.consumer else { return (nil, []) }
            s.consumer = nil
            defer { s.inFlight = s.items.count; s.items.removeAll() }
            return (c, s.items)
        }
        consumer?.resume(returning: taken)
        return !taken.isEmpty || consumer == nil ? !isClosed : true
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Everything queued, waiting for something if nothing is; nil once closed.
    public func next() async -> [Element]? {
        // What was taken last time is written by now: producers below their mark may go on.
        let released: [CheckedContinuation<Void, Never>] = state.withLock { s in
            s.inFlight = 0
            defer { s.producers.removeAll() }
            return s.producers
        }
        for p in released { p.resume() }
        return await withCheckedContinuation { (c: CheckedContinuation<[Element]?, Never>) in
            let now: [Element]?? = state.withLock { s in
                if s.closed { return .some(nil) }
                if !s.items.isEmpty {
                    defer { s.inFlight = s.items.count; s.items.removeAll() }
                    return .some(s.items)
                }
                s.consumer = c
                return .none
            }
            if let now { c.resume(returning: now) }
        }
    }

    /// Waits while more than `limit` items are queued or being written.
    public func waitBelow(_ limit: Int) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let go = state.withLock { s -> Bool in
                if s.closed || s.items.count + s.inFlight <= limit { return true }
                s.producers.append(c)
                return false
            }
            if go { c.resume() }
        }
    }

    /// Ends the queue: ``next()`` returns nil, waiting producers go on.
    public func close() {
        let (consumer, producers) = state.withLock { s in
            s.closed = true
            defer { s.consumer = nil; s.producers.removeAll() }
            return (s.consumer, s.producers)
        }
        consumer?.resume(returning: nil)
        for p in producers { p.resume() }
    }
}
