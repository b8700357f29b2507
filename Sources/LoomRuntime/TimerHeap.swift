/// A binary min-heap of timers by deadline. Cancelled timers are not removed; they are skipped when
/// they fire (an ask's timeout after its reply, say), so adding and firing stay O(log n).
struct TimerHeap<Action> {
    struct Entry {
        var deadline: ContinuousClock.Instant
        var sequence: UInt64
        var action: Action
    }

    private var entries: [Entry] = []
    private var sequence: UInt64 = 0

    var first: Entry? { entries.first }
    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }

    mutating func insert(_ deadline: ContinuousClock.Instant, _ action: Action) {
        sequence += 1
        entries.append(Entry(deadline: deadline, sequence: sequence, action: action))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let top = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, Self.before(entries[left], entries[smallest]) { smallest = left }
            if right < entries.count, Self.before(entries[right], entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
