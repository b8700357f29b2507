import DequeModule

/// When each waiting ask times out, kept so that an answered ask costs next to nothing.
///
/// Asks mostly share a few timeouts (the node's default, the host's, one an agent chose), so the
/// deadlines of asks with the same timeout come in order. Each such timeout has a lane: a queue
/// appended at the back, whose front is trimmed as asks are answered (``trim(keeping:)``), so a
/// node answering asks in order holds a handful of entries, where one heap entry per ask would
/// linger until it fired (half a minute of them at tens of thousands of asks a second). Past
/// ``maximumLanes`` timeouts, or when the clock gives a deadline earlier than its lane's last,
/// the deadline goes into a heap.
struct AskDeadlines {
    struct Entry {
        var deadline: ContinuousClock.Instant
        var id: UInt64
    }

    private struct Lane {
        var timeout: Duration
        var entries: Deque<Entry>
    }

    static let maximumLanes = 4

    private var lanes: [Lane] = []
    private var heap = TimerHeap<UInt64>()

    init() {}

    /// Ask `id`, made `now`, times out after `timeout`.
    mutating func add(_ id: UInt64, timeout: Duration, now: ContinuousClock.Instant) {
        let entry = Entry(deadline: now + timeout, id: id)
        for i in lanes.indices where lanes[i].timeout == timeout {
            if let last = lanes[i].entries.last, entry.deadline < last.deadline { break }
            lanes[i].entries.append(entry)
            return
        }
        if lanes.count < Self.maximumLanes, !lanes.contains(where: { $0.timeout == timeout }) {
            lanes.append(Lane(timeout: timeout, entries: [entry]))
            return
        }
        heap.insert(entry.deadline, id)
    }

    /// The earliest deadline, answered or not.
    var next: ContinuousClock.Instant? {
        var earliest = heap.first?.deadline
        for lane in lanes {
            if let d = lane.entries.first?.deadline, earliest.map({ d < $0 }) ?? true { earliest = d }
        }
        return earliest
    }

    /// Takes out every deadline due by `now`, answered or not: the caller skips those no longer
    /// waiting.
    mutating func popDue(_ now: ContinuousClock.Instant) -> [UInt64] {
        var due: [UInt64] = []
        for i in lanes.indices {
            while let first = lanes[i].entries.first, first.deadline <= now {
                lanes[i].entries.removeFirst()
                due.append(first.id)
            }
        }
        while let first = heap.first, first.deadline <= now {
            _ = heap.popFirst()
            due.append(first.action)
        }
        return due
    }

    /// Drops, from the front of each lane, the asks that no longer wait (`waiting` says false).
    mutating func trim(keeping waiting: (UInt64) -> Bool) {
        for i in lanes.indices {
            while let first = lanes[i].entries.first, !waiting(first.id) { lanes[i].entries.removeFirst() }
        }
    }

    /// Entries held, answered or not (for tests).
    var count: Int { lanes.reduce(heap.count) { $0 + $1.entries.count } }
}
