import Foundation
import Testing

/// The hub across real processes: `loom hub serve`, nodes under `loom run --serve --hub`, and
/// `loom ask` from the shell; kill -9 of the hub in the middle of 10,000 sends, and of a receiver.
@Suite("Hub processes", .serialized)
struct HubProcessTests {
    static let log = """
        function on_message(m)
          state.n = (state.n or 0) + 1
          if m ~= (state.last or 0) + 1 then state.bad = (state.bad or 0) + 1 end
          state.last = m
        end
        function on_task(t) return string.format("%d %d %d", state.n or 0, state.last or 0, state.bad or 0) end
        """
    static let burst = """
        function on_task(t)
          local from, to = t:match("(%d+) (%d+)")
          for i = tonumber(from), tonumber(to) do assert(send("beta/log", i)) end
          return "sent"
        end
        """

    final class Hub {
        let process: Process
        let url: String
        init(port: Int, data: String) throws {
            let (p, out, _) = try LoomProcess.start(["hub", "serve", "--listen", "127.0.0.1:\(port)", "--data", data])
            process = p
            var line = Data()
            let handle = out.fileHandleForReading
            while !line.contains(10) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            url = String(decoding: line, as: UTF8.self).split(separator: "\n").first.map { String($0.split(separator: " ").last ?? "") } ?? ""
        }
        var port: Int { Int(url.split(separator: ":").last ?? "") ?? 0 }
        func kill9() { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    func startNode(_ dir: URL, _ name: String, hub: String) throws -> Process {
        let (p, _, _) = try LoomProcess.start(["run", dir.appendingPathComponent(name).path, "--serve", "--hub", hub])
        return p
    }

    func ask(_ target: String, _ text: String, as node: URL, hub: String, timeout: Double = 10) throws -> LoomProcess.Output {
        try LoomProcess.run(["ask", target, text, "--as", node.path, "--hub", hub, "--timeout", String(timeout)])
    }

    /// "n last bad" from beta/log, or nil while beta cannot be asked.
    func counts(_ dir: URL, hub: String) throws -> [Int]? {
        let out = try ask("beta/log", "count", as: dir.appendingPathComponent("alpha"), hub: hub, timeout: 5)
        guard out.status == 0 else { return nil }
        return out.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
    }

    @Test("kill -9 of the hub during 10,000 sends: after its restart every message arrives once, in order; a receiver killed with -9 gets what was sent meanwhile")
    func killHubAndReceiver() throws {
        let dir = try LoomProcess.tree([
            "alpha/node.toml": "name = \"alpha\"\n",
            "alpha/agents/burst/agent.toml": "name = \"burst\"\n",
            "alpha/agents/burst/agent.lua": Self.burst,
            "beta/node.toml": "name = \"beta\"\n",
            "beta/agents/log/agent.toml": "name = \"log\"\n",
            "beta/agents/log/agent.lua": Self.log,
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in ["alpha", "beta"] { #expect(try LoomProcess.run(["keys", "init", dir.appendingPathComponent(n).path]).status == 0) }
        let data = dir.appendingPathComponent("hub").path
        var hub = try Hub(port: 0, data: data)
        #expect(hub.url.hasPrefix("http://127.0.0.1:"))
        let alpha = try startNode(dir, "alpha", hub: hub.url)
        var beta = try startNode(dir, "beta", hub: hub.url)
        defer {
            for p in [alpha, beta, hub.process] where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        // Both up: an ask crosses.
        var up = false
        for _ in 0..<100 where !up {
            up = try ask("alpha/burst", "1 0", as: dir.appendingPathComponent("beta"), hub: hub.url, timeout: 2).status == 0
                && (try counts(dir, hub: hub.url)) != nil
            if !up { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(up, "the nodes did not come up through the hub")
        // 10,000 sends; the hub dies with -9 while they flow.
        #expect(try ask("alpha/burst", "1 10000", as: dir.appendingPathComponent("beta"), hub: hub.url).stdout.contains("sent"))
        Thread.sleep(forTimeInterval: 0.05)
        hub.kill9()
        Thread.sleep(forTimeInterval: 0.5)
        hub = try Hub(port: hub.port, data: data)
        var c: [Int] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            c = (try counts(dir, hub: hub.url)) ?? []
            if c.first == 10_000 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(c == [10_000, 10_000, 0], "n, last, out-of-order count: \(c)")
        // The receiver dies with -9 (after its state's periodic save); what is sent meanwhile waits at the hub.
        Thread.sleep(forTimeInterval: 1)
        kill(beta.processIdentifier, SIGKILL)
        beta.waitUntilExit()
        #expect(try ask("alpha/burst", "10001 10500", as: dir.appendingPathComponent("beta"), hub: hub.url).stdout.contains("sent"))
        Thread.sleep(forTimeInterval: 0.5)
        beta = try startNode(dir, "beta", hub: hub.url)
        let deadline2 = Date().addingTimeInterval(60)
        while Date() < deadline2 {
            c = (try counts(dir, hub: hub.url)) ?? []
            if c.count == 3 && c[1] == 10_500 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(c.count == 3 && c[1] == 10_500 && c[2] == 0, "the messages sent while beta was down arrived, in order: \(c)")
        // A node that is not in the directory, and a hub that is not running, fail with their kinds.
        let unknown = try ask("nobody/x", "hi", as: dir.appendingPathComponent("alpha"), hub: hub.url)
        #expect(unknown.status == 1 && unknown.stderr.contains("noNode"), "\(unknown.stderr)")
        for p in [alpha, beta] { p.terminate(); p.waitUntilExit() }
        hub.kill9()
        let down = try ask("beta/log", "count", as: dir.appendingPathComponent("alpha"), hub: hub.url)
        #expect(down.status == 1 && down.stderr.contains("unreachable"), "\(down.stderr)")
    }
}
