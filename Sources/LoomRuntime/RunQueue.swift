/// The agents with something to do, in the order they became runnable (round robin).
///
/// An array read from a moving head: taking from the front is O(1), and the space before the head
/// is given back once the head is past half of the array (and past 4,096 entries), or when the
/// queue is drained (``compactIfDrained()``). Generic so that its tests need no agents; the
/// engine uses `RunQueue<AgentSlot>`.
struct RunQueue<Element> {
    private var elements: [Element] = []
    private var head = 0

    /// How far the head may run before the space behind it is given back.
    static var compactionThreshold: Int { 4096 }

    init() {}

    @inline(__always)
    var isEmpty: Bool { head >= elements.count }

    /// How many are queued.
    var count: Int { elements.count - head }

    @inline(__always)
    mutating func append(_ element: Element) {
        elements.append(element)
    }

    /// Takes the first element.
    @inline(__always)
    mutating func popFirst() -> Element? {
        guard head < elements.count else { return nil }
        let element = elements[head]
        head += 1
        compact()
        return element
    }

    /// The element `offset` places behind the head, if queued (what a batch looks at).
    @inline(__always)
    func element(at offset: Int) -> Element? {
        let i = head + offset
        return i < elements.count ? elements[i] : nil
    }

    /// Drops the first `n` elements (a batch took them).
    mutating func removeFirst(_ n: Int) {
        head = min(head + n, elements.count)
        compact()
    }

    /// Empties the array, keeping its capacity, when everything queued was taken.
    @inline(__always)
    mutating func compactIfDrained() {
        if head == elements.count {
            elements.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Gives back the space behind the head once it is past half of the array.
    @inline(__always)
    private mutating func compact() {
        if head > Self.compactionThreshold && head * 2 > elements.count {
            elements.removeFirst(head)
            head = 0
        }
    }

    /// The storage's length, taken elements included (for tests of the compaction).
    var storageCount: Int { elements.count }
}
