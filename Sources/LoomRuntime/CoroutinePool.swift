import LuaKit

/// Finished handler coroutines kept for reuse, so that a message does not make a new one.
struct CoroutinePool {
    private var free: [LuaCoroutine] = []
    /// At most this many are kept when a handler returns.
    static var limit: Int { 256 }

    init() {}

    var count: Int { free.count }

    @inline(__always)
    mutating func take() -> LuaCoroutine? { free.popLast() }

    /// Keeps a finished coroutine, unless the pool is full.
    @inline(__always)
    mutating func recycle(_ coroutine: LuaCoroutine) {
        if free.count < Self.limit { free.append(coroutine) }
    }

    /// Gives back coroutines taken for a batch that did not run (some made fresh for it), keeping
    /// no more than the limit.
    mutating func giveBack(_ coroutines: [LuaCoroutine]) {
        free.append(contentsOf: coroutines.prefix(max(0, Self.limit - free.count)))
    }

    mutating func removeAll() { free.removeAll() }
}
