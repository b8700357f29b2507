@testable import LoomRuntime
import LuaKit
import Testing

@Suite("Coroutine pool")
struct CoroutinePoolTests {
    @Test("a batch that did not run gives back no more than the pool keeps")
    func giveBackIsBounded() throws {
        let lua = try LuaState()
        let f = try lua.load("return 1", name: "f")
        var pool = CoroutinePool()
        let made = try (0..<(CoroutinePool.limit + 100)).map { _ in try lua.coroutine(f) }
        pool.giveBack(made)
        #expect(pool.count == CoroutinePool.limit)
        pool.giveBack(made)
        #expect(pool.count == CoroutinePool.limit)
        _ = pool.take()
        pool.recycle(made[0])
        #expect(pool.count == CoroutinePool.limit)
    }
}
