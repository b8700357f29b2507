import Foundation
import LoomBundle
@testable import LoomHub
@testable import LoomHubClient
@testable import LoomRuntime
import LoomTesting
import LoomWire
import LuaKit

/// A hub on a loopback port in this process, and nodes that reach it each as if in a process of
/// its own (a NodeDirectory each, so nothing is delivered in memory): real gRPC, real keys, real
/// SQLite files.
final class HubHarness: Sendable {
    let folder = TemporaryFolder(prefix: "loom-hub")
    let server: HubServer
    let serving: Task<Void, Never>
    let url: HubURL

    init(store: (any HubStore)? = nil, port: Int = 0, data: String? = nil) async throws {
        let dataPath = data ?? folder.path("hub")
        try FileManager.default.createDirectory(atPath: dataPath, withIntermediateDirectories: true)
        let s = try store ?? SQLiteHubStore(path: dataPath + "/hub.sqlite")
        server = HubServer(listen: HubURL(host: "127.0.0.1", port: port), store: s)
        let server = self.server
        serving = Task { try? await server.run() }
        url = try await server.address()
    }

    func stop() async {
        server.stop()
        await serving.value
    }

    /// Writes node `name` (agents as name -> Lua) under `root` with a key of its own; returns its folder.
    static func node(_ name: String, in folder: TemporaryFolder, agents: [String: String], subfolder: String? = nil) throws -> String {
        let dir = subfolder ?? name
        try folder.write("\(dir)/node.toml", "name = \"\(name)\"\n")
        for (agent, lua) in agents {
            try folder.write("\(dir)/agents/\(agent)/agent.toml", "name = \"\(agent)\"\n")
            try folder.write("\(dir)/agents/\(agent)/agent.lua", lua)
        }
        _ = try NodeIdentity.create(node: folder.path(dir))
        return folder.path(dir)
    }

    /// Starts the node in `path` with a link to `hub`; waits until the link is up (unless told not to).
    static func start(_ path: String, hub: HubURL, waitForLink: Bool = true) async throws -> LinkedNode {
        let node = try Node(directory: path, directory: NodeDirectory())
        await node.start()
        let link = try HubLink(node: node, directory: path, hub: hub)
        await node.route(remote: link)
        let task = Task { do { try await link.run() } catch {} }
        let linked = LinkedNode(node: node, link: link, task: task)
        if waitForLink { try await linked.waitForLink() }
        return linked
    }
}

struct LinkedNode: Sendable {
    let node: Node
    let link: HubLink
    let task: Task<Void, Never>

    func waitForLink(seconds: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !link.isConnected {
            guard Date() < deadline else { throw HubError(.timeout, "the link of '\(node.name)' did not come up") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func stop() async {
        await node.shutdown()
        link.stop()
        await task.value
    }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
