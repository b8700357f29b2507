import Foundation
@testable import LoomHub
@testable import LoomHubClient
import LoomWire
import Testing

@Suite("Hub directory")
struct HubDirectoryTests {
    @Test("find lists the providers of a capability in the asker's lineage order, nearest first, then the rest by name")
    func findInLineageOrder() async throws {
        let hub = try await HubHarness()
        let key = Data(repeating: 1, count: 32)
        for e in [
            DirectoryEntry(name: "root", key: key, lineage: ["root"], provides: ["greet@1", "log@2"]),
            DirectoryEntry(name: "mid", key: key, lineage: ["mid", "root"], provides: ["greet@1"]),
            DirectoryEntry(name: "leaf", key: key, lineage: ["leaf", "mid", "root"], provides: []),
            DirectoryEntry(name: "apart", key: key, lineage: ["apart"], provides: ["greet@1", "greet@2"]),
            DirectoryEntry(name: "zeta", key: key, lineage: ["zeta"], provides: ["greet@2"]),
        ] { try await hub.server.hub.store.save(e) }
        let found = try await HubCall.find(hub: hub.url, capability: "greet@1", asker: "leaf").map(\.name)
        #expect(found == ["mid", "root", "apart"])
        // A bare name matches any major; with no asker, by name.
        #expect(try await HubCall.find(hub: hub.url, capability: "greet", asker: "").map(\.name) == ["apart", "mid", "root", "zeta"])
        #expect(try await HubCall.find(hub: hub.url, capability: "missing@1", asker: "leaf").isEmpty)
        let nodes = try await HubCall.nodes(hub: hub.url)
        #expect(nodes.map(\.name) == ["apart", "leaf", "mid", "root", "zeta"])
        #expect(nodes.allSatisfy { !$0.connected })
        await hub.stop()
    }

    @Test("a hub that is not running is a clear unreachable error for directory calls")
    func hubDown() async throws {
        let hub = try await HubHarness()
        let url = hub.url
        await hub.stop()
        do {
            _ = try await HubCall.nodes(hub: url)
            Issue.record("nodes() succeeded with no hub")
        } catch { #expect(error.kind == .unreachable, "\(error)") }
    }

    @Test("hub addresses: http://HOST:PORT or HOST:PORT; https and junk are refused with the form expected")
    func addresses() throws {
        #expect(try HubURL("http://127.0.0.1:7420") == HubURL(host: "127.0.0.1", port: 7420))
        #expect(try HubURL("10.0.0.2:99") == HubURL(host: "10.0.0.2", port: 99))
        #expect(try HubURL("hubhost") == HubURL(host: "hubhost", port: HubURL.defaultPort))
        for bad in ["https://x:1", "http://:80", "x:99999", "x:port", ""] {
            #expect(throws: HubError.self, "\(bad)") { _ = try HubURL(bad) }
        }
    }
}
