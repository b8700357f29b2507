import Foundation
import SwiftProtobuf
@testable import LoomHub
@testable import LoomHubClient
@testable import LoomRuntime
import LoomTesting
import LoomWire
import LuaKit
import Testing

/// Nodes that reach each other only through a hub: asks with replies, sends in order, messages
/// that wait for a node that is away or a hub that restarts.
@Suite("Hub delivery", .serialized)
struct HubDeliveryTests {
    static let log = """
        function on_message(m) state.got = state.got or {} table.insert(state.got, m) end
        function on_task(t) if t == "count" then return #(state.got or {}) end return state.got or {} end
        """
    static let echo = "function on_task(t) return 'echo: ' .. tostring(t) end"
    static let caller = "function on_task(t) local r, err = ask(t.to, t.task, {timeout = 30}) return r or ('failed: ' .. err) end"

    @Test("an agent's ask crosses the hub and its reply comes back; sends arrive in order, once")
    func askAndSend() async throws {
        let hub = try await HubHarness()
        let f = hub.folder
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: f, agents: ["caller": Self.caller]), hub: hub.url)
        let beta = try await HubHarness.start(HubHarness.node("beta", in: f, agents: ["echo": Self.echo, "log": Self.log]), hub: hub.url)
        let reply = try await alpha.node.ask("caller", ["to": "beta/echo", "task": "hi"], timeout: .seconds(30))
        #expect(reply.string == "echo: hi")
        // The host's own ask to a node elsewhere.
        #expect(try await alpha.node.ask("beta/echo", "direct", timeout: .seconds(30)).string == "echo: direct")
        for i in 1...300 { try await alpha.node.send("beta/log", .integer(Int64(i))) }
        #expect(try await eventually { (try await beta.node.ask("log", "count", timeout: .seconds(30)).integer ?? 0) >= 300 })
        let got = try await beta.node.ask("log", "all", timeout: .seconds(30))
        #expect(got.table?.array.map { $0.integer ?? -1 } == (1...300).map { Int64($0) }, "in order, each once")
        #expect(await eventually { (try? alpha.link.unacknowledged()) == 0 }, "the hub acknowledged every frame")
        await alpha.stop(); await beta.stop(); await hub.stop()
    }

    @Test("messages for a node that is away wait at the hub and arrive, once, when it connects")
    func awayNode() async throws {
        let hub = try await HubHarness()
        let f = hub.folder
        let betaPath = try HubHarness.node("beta", in: f, agents: ["log": Self.log])
        // beta registers, then goes away.
        let first = try await HubHarness.start(betaPath, hub: hub.url)
        await first.stop()
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: f, agents: [:]), hub: hub.url)
        for i in 1...50 { try await alpha.node.send("beta/log", .integer(Int64(i))) }
        #expect(await eventually { (try? alpha.link.unacknowledged()) == 0 }, "stored at the hub")
        let waiting = try await hub.server.hub.nodes().first { $0.name == "beta" }?.waiting ?? 0
        #expect(waiting > 0)
        let beta = try await HubHarness.start(betaPath, hub: hub.url)
        #expect(try await eventually { (try await beta.node.ask("log", "count", timeout: .seconds(30)).integer ?? 0) >= 50 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await beta.node.ask("log", "count", timeout: .seconds(30)).integer == 50)
        await alpha.stop(); await beta.stop(); await hub.stop()
    }

    @Test("a hub that restarts loses nothing it acknowledged; sends made while it is down wait in the outbox")
    func hubRestart() async throws {
        let data = TemporaryFolder(prefix: "loom-hub-data")
        var hub = try await HubHarness(data: data.root)
        let port = hub.url.port
        let f = hub.folder
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: f, agents: [:]), hub: hub.url)
        let beta = try await HubHarness.start(HubHarness.node("beta", in: f, agents: ["log": Self.log]), hub: hub.url)
        for i in 1...200 { try await alpha.node.send("beta/log", .integer(Int64(i))) }
        await hub.stop()
        for i in 201...400 { try await alpha.node.send("beta/log", .integer(Int64(i))) }
        // An ask while the hub is down fails at once, as unreachable.
        #expect(await eventually { !alpha.link.isConnected })
        do {
            _ = try await alpha.node.ask("beta/log", "count", timeout: .seconds(5))
            Issue.record("an ask with the hub down succeeded")
        } catch let e as ReplyError { #expect(e.kind == .unreachable, "\(e)") }
        hub = try await HubHarness(port: port, data: data.root)
        #expect(try await eventually(20) { (try await beta.node.ask("log", "count", timeout: .seconds(30)).integer ?? 0) >= 400 })
        try await Task.sleep(for: .milliseconds(300))
        let got = try await beta.node.ask("log", "all", timeout: .seconds(30)).table?.array.map { $0.integer ?? -1 } ?? []
        #expect(got == (1...400).map { Int64($0) }, "every message once, in order")
        await alpha.stop(); await beta.stop(); await hub.stop()
    }

    @Test("large messages cross: a turn's messages are split into frames of about a megabyte, one of 3 MB goes alone")
    func largeMessages() async throws {
        let hub = try await HubHarness()
        let f = hub.folder
        let sizes = "function on_message(m) state.got = state.got or {} table.insert(state.got, #m) end function on_task() return state.got or {} end"
        let alpha = try await HubHarness.start(HubHarness.node("alpha", in: f, agents: [:]), hub: hub.url)
        let beta = try await HubHarness.start(HubHarness.node("beta", in: f, agents: ["sizes": sizes]), hub: hub.url)
        var expected: [Int64] = []
        var batch: [(agent: String, message: LuaValue)] = []
        for i in 0..<8 {
            let n = i == 4 ? 3_000_000 : 600_000
            expected.append(Int64(n))
            batch.append((agent: "beta/sizes", message: .string(LuaString(String(repeating: "y", count: n)))))
        }
        #expect(try await alpha.node.send(many: batch).isEmpty)
        #expect(try await eventually { (try await beta.node.ask("sizes", 0, timeout: .seconds(30)).table?.array.count ?? 0) >= 8 })
        let got = try await beta.node.ask("sizes", 0, timeout: .seconds(30)).table?.array.map { $0.integer ?? -1 }
        #expect(got == expected, "every message whole and in order")
        await alpha.stop(); await beta.stop(); await hub.stop()
    }
}
