import Crypto
import Foundation
import SwiftProtobuf
import LoomBundle
@testable import LoomHub
@testable import LoomHubClient
@testable import LoomRuntime
import LoomTesting
import LoomWire
import LuaKit
import Synchronization
import Testing

/// A store that a hostile hub might keep: it alters a byte of every frame it hands out, or hands
/// each out twice.
final class HostileStore: HubStore {
    enum Mode { case flipByte, replay }
    let inner: SQLiteHubStore
    let mode: Mode
    init(_ path: String, _ mode: Mode) throws { inner = try SQLiteHubStore(path: path); self.mode = mode }
    func entry(_ name: String) async throws -> DirectoryEntry? { try await inner.entry(name) }
    func save(_ entry: DirectoryEntry) async throws { try await inner.save(entry) }
    func entries() async throws -> [DirectoryEntry] { try await inner.entries() }
    func storedThrough(_ sender: String) async throws -> UInt64 { try await inner.storedThrough(sender) }
    func store(_ frames: [StoredFrame]) async throws -> Int { try await inner.store(frames) }
    func delivered(target: String, sender: String, through: UInt64) async throws {
        // A replaying hub never forgets.
        if mode != .replay { try await inner.delivered(target: target, sender: sender, through: through) }
    }
    func discard(target: String) async throws { try await inner.discard(target: target) }
    func waiting() async throws -> [String: Int] { try await inner.waiting() }
    func frames(for target: String, after id: Int64, limit: Int) async throws -> [StoredFrame] {
        let frames = try await inner.frames(for: target, after: id, limit: limit)
        switch mode {
        case .flipByte:
            return frames.map { f in
                var f = f
                // The last byte is inside the last message's payload: the frame still parses.
                f.content[f.content.count - 1] ^= 0x01
                return f
            }
        case .replay:
            // Each frame twice (the second with the same arrival id, so the cursor moves on).
            return frames.flatMap { [$0, $0] }
        }
    }
}

@Suite("Hub attacks", .serialized)
struct HubAttackTests {
    @Test("a hub that alters a frame is caught by the receiver: nothing is delivered")
    func alteredFrame() async throws {
        let folder = TemporaryFolder(prefix: "loom-hub-evil")
        let hub = try await HubHarness(store: HostileStore(folder.path("hub.sqlite"), .flipByte))
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: folder, agents: [:]), hub: hub.url)
        let beta = try await HubHarness.start(HubHarness.node("beta", in: folder, agents: ["log": HubDeliveryTests.log]), hub: hub.url)
        for i in 1...20 { try await alpha.node.send("beta/log", .string(LuaString("message \(i)"))) }
        #expect(await eventually { (try? alpha.link.unacknowledged()) == 0 }, "the hub took them")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await beta.node.ask("log", "count", timeout: .seconds(30)).integer == 0, "an altered frame must not be delivered")
        await alpha.stop(); await beta.stop(); await hub.stop()
    }

    @Test("a hub that replays frames: the receiver delivers each once")
    func replayedFrames() async throws {
        let folder = TemporaryFolder(prefix: "loom-hub-replay")
        let hub = try await HubHarness(store: HostileStore(folder.path("hub.sqlite"), .replay))
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: folder, agents: [:]), hub: hub.url)
        let betaPath = try HubHarness.node("beta", in: folder, agents: ["log": HubDeliveryTests.log])
        var beta = try await HubHarness.start(betaPath, hub: hub.url)
        for i in 1...100 { try await alpha.node.send("beta/log", .integer(Int64(i))) }
        #expect(try await eventually { (try await beta.node.ask("log", "count", timeout: .seconds(30)).integer ?? 0) >= 100 })
        // Reconnecting makes the hub send everything again (it never forgot): still once each,
        // across a restart of the receiving node (its marks are in its database).
        await beta.stop()
        beta = try await HubHarness.start(betaPath, hub: hub.url)
        try await Task.sleep(for: .milliseconds(800))
        let got = try await beta.node.ask("log", "all", timeout: .seconds(30)).table?.array.map { $0.integer ?? -1 } ?? []
        #expect(got == (1...100).map { Int64($0) }, "each once, in order, though the hub sent each twice and again after the restart")
        await alpha.stop(); await beta.stop(); await hub.stop()
    }

    @Test("a name is owned by the first key; a second key is refused, and a rotation signed by the first is accepted")
    func nameOwnership() async throws {
        let hub = try await HubHarness()
        let folder = hub.folder
        let alphaPath = try HubHarness.node("alpha", in: folder, agents: [:])
        let alpha = try await HubHarness.start(alphaPath, hub: hub.url)
        await alpha.stop()
        // Another folder, another key, the same name.
        let impostor = try HubHarness.node("alpha", in: folder, agents: [:], subfolder: "impostor")
        do {
            try await HubCall.send(hub: hub.url, as: impostor, node: "alpha", agent: "x", message: "hi", timeout: .seconds(5))
            Issue.record("a second key took the name")
        } catch let e as HubError { #expect(e.kind == .nameTaken, "\(e)") }
        // The owner rotates its key: the statement signed by the old key opens the door to the new.
        _ = try NodeIdentity.rotate(node: alphaPath)
        let rotated = try await HubHarness.start(alphaPath, hub: hub.url)
        #expect(rotated.link.isConnected)
        let entry = try await hub.server.hub.lookup("alpha")
        #expect(entry?.publicKey == (try NodeIdentity.load(node: alphaPath)).publicKey.raw)
        await rotated.stop(); await hub.stop()
    }

    @Test("an unknown target fails the ask as noNode; a hub that is not running fails it as unreachable")
    func unknownTargetAndNoHub() async throws {
        let hub = try await HubHarness()
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: hub.folder, agents: [:]), hub: hub.url)
        do {
            _ = try await alpha.node.ask("nobody/echo", "hi", timeout: .seconds(5))
            Issue.record("an ask to an unknown node succeeded")
        } catch let e as ReplyError { #expect(e.kind == .noNode, "\(e)") }
        await alpha.stop()
        await hub.stop()
        // No hub at all on that port now.
        let lonely = try await HubHarness.start(HubHarness.node("lonely", in: hub.folder, agents: [:]), hub: hub.url, waitForLink: false)
        let clock = ContinuousClock(), began = clock.now
        do {
            _ = try await lonely.node.ask("beta/echo", "hi", timeout: .seconds(5))
            Issue.record("an ask with no hub succeeded")
        } catch let e as ReplyError { #expect(e.kind == .unreachable, "\(e)") }
        #expect(clock.now - began < .seconds(4), "fails at once rather than waiting out its timeout (5 s)")
        await lonely.stop()
    }

    @Test("a frame signed by another key than the sender's is refused by the hub")
    func forgedSignature() async throws {
        let hub = try await HubHarness()
        let alphaPath = try HubHarness.node("alpha", in: hub.folder, agents: [:])
        let beta = try await HubHarness.start(HubHarness.node("beta", in: hub.folder, agents: ["log": HubDeliveryTests.log]), hub: hub.url)
        let alpha = try await HubHarness.start(alphaPath, hub: hub.url)
        // A connection authenticated as alpha, sending a frame signed by a stranger's key.
        let connection = HubConnection(name: SenderName("alpha")!, serial: 999,
                                       key: Array(try NodeIdentity.load(node: alphaPath).publicKey.raw))
        let stranger = Curve25519.Signing.PrivateKey()
        var w = Loom_Hub_V1_Envelope()
        w.toAgent = "log"; w.fromAgent = "x"; w.payload = Data(try StateCodec.encode(.string("forged")))
        let content = try Frames.content(sender: "alpha", target: "beta", sequence: 1_000_000, sentAtMs: Frames.nowMs(), body: try Frames.body([w]))
        await hub.server.hub.take(.with { $0.content = content; $0.signature = try! WireSignature.signFrame(content, with: stranger) }, from: connection)
        let control = connection.takeControl() ?? []
        #expect(control.contains { if case .refusal(let r)? = $0.body { r.kind == .badSignature } else { false } })
        // And a stale frame (outside the time window) is refused as a replay.
        let alphaKey = try NodeIdentity.load(node: alphaPath).signingKey()
        let old = try Frames.content(sender: "alpha", target: "beta", sequence: 1_000_001, sentAtMs: Frames.nowMs() - 3_600_000, body: try Frames.body([w]))
        await hub.server.hub.take(.with { $0.content = old; $0.signature = try! WireSignature.signFrame(old, with: alphaKey) }, from: connection)
        let control2 = connection.takeControl() ?? []
        #expect(control2.contains { if case .refusal(let r)? = $0.body { r.kind == .replayed } else { false } })
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await beta.node.ask("log", "count", timeout: .seconds(30)).integer == 0)
        await alpha.stop(); await beta.stop(); await hub.stop()
    }
}
