import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
@testable import LoomHubClient
@testable import LoomRuntime
import LoomTesting
import LoomWire
import LuaKit
import Synchronization
import SwiftProtobuf
import Testing

/// The hub (a real `loom hub serve` process) under a burst from 50 simulated nodes, half of it for a
/// receiver that never reads: the hub's memory stays bounded (what waits is on disk), and the
/// other receiver gets everything meant for it.
@Suite("Hub burst", .serialized)
struct HubBurstTests {
    static var loom: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("loom")
    }

    static func rss(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    /// A stream as `name` with a fresh key: says hello, sends the frames `frames` makes one at a
    /// time (each after the hub acknowledged the one before), then waits in `hold`.
    static func stream(_ hub: HubURL, _ name: String, frames: @Sendable @escaping (FrameSigner) throws -> [(UInt64, Loom_Hub_V1_SignedFrame)],
                       hold: @Sendable @escaping () async throws -> Void = {}) async throws {
        try await withGRPCClient(transport: try HTTP2ClientTransport.Posix(
            target: .ipv4(address: hub.host, port: hub.port), transportSecurity: .plaintext)) { client in
            let api = Loom_Hub_V1_Hub.Client(wrapping: client)
            let key = FrameSigner(Curve25519.Signing.PrivateKey())
            let claim = try Loom_Hub_V1_HelloClaim.with {
                $0.name = name; $0.publicKey = key.publicKey; $0.protocolVersion = Frames.version
            }.serializedData()
            let queue = SignalQueue<Loom_Hub_V1_NodeMessage>()
            try await api.connect(request: StreamingClientRequest(of: Loom_Hub_V1_NodeMessage.self) { writer in
                while let b = await queue.next() { for m in b { try await writer.write(m) } }
            }) { response in
                defer { queue.close() }
                var it = response.messages.makeAsyncIterator()
                _ = try await HubHandshake.hello(&it, claim: claim, signer: key, name: name, on: queue)
                for (seq, frame) in try frames(key) {
                    queue.push(.with { $0.frame = frame })
                    while let m = try await it.next() {
                        if case .ack(let a)? = m.body, a.through == seq { break }
                        if case .refusal(let r)? = m.body { throw HubError(.refused, r.message) }
                    }
                }
                try await hold()
            }
        }
    }

    @Test("50 nodes burst into the hub while one receiver never reads: memory stays bounded, the other receiver gets all")
    func burst() async throws {
        let folder = TemporaryFolder(prefix: "loom-hub-burst")
        let hubProcess = Process()
        hubProcess.executableURL = Self.loom
        hubProcess.arguments = ["hub", "serve", "--listen", "127.0.0.1:0", "--data", folder.path("hub")]
        let out = Pipe()
        hubProcess.standardOutput = out
        hubProcess.standardError = FileHandle.nullDevice
        try hubProcess.run()
        defer { if hubProcess.isRunning { kill(hubProcess.processIdentifier, SIGKILL) } }
        var first = Data()
        while !first.contains(10) { let d = out.fileHandleForReading.availableData; if d.isEmpty { break }; first.append(d) }
        let url = try HubURL(String(decoding: first, as: UTF8.self).split(separator: "\n")[0].split(separator: " ").last.map(String.init) ?? "")

        // The fast receiver: a real node with a counter.
        let fastPath = try HubHarness.node("fast", in: folder, agents: [
            "count": "function on_message(m) state.n = (state.n or 0) + 1 end function on_task() return state.n or 0 end"])
        let fast = try await HubHarness.start(fastPath, hub: url)
        // The slow receiver: connects, then never reads another message.
        let slowUp = Atomic<Bool>(false), release = Atomic<Bool>(false)
        let slowTask = Task {
            try await Self.stream(url, "slow", frames: { _ in [] }) {
                slowUp.store(true, ordering: .relaxed)
                while !release.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(50)) }
            }
        }
        while !slowUp.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(20)) }
        let idle = Self.rss(hubProcess.processIdentifier)

        // 50 senders at once, each 8 frames of 256 KiB for slow (100 MiB in all) and 8 frames of
        // 100 messages for fast; each sender waits for the hub's ack before its next frame.
        let senders = 50, frames = 8
        let bigPayload = Data(try StateCodec.encode(.string(LuaString(String(repeating: "x", count: 256 * 1024)))))
        let small = Data(try StateCodec.encode(.integer(1)))
        let peak = Atomic<Int>(0)
        let sampling = Task {
            while !Task.isCancelled {
                let r = Self.rss(hubProcess.processIdentifier)
                if r > peak.load(ordering: .relaxed) { peak.store(r, ordering: .relaxed) }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for s in 0..<senders {
                group.addTask {
                    try await Self.stream(url, "burst\(s)", frames: { key in
                        var out: [(UInt64, Loom_Hub_V1_SignedFrame)] = []
                        var seq: UInt64 = 0
                        for _ in 0..<frames {
                            for (target, envelopes) in [("slow", [Loom_Hub_V1_Envelope.with { $0.toAgent = "x"; $0.payload = bigPayload }]),
                                                        ("fast", (0..<100).map { _ in Loom_Hub_V1_Envelope.with { $0.toAgent = "count"; $0.payload = small } })] {
                                seq += 1
                                let content = try Frames.content(sender: "burst\(s)", target: target, sequence: seq, sentAtMs: Frames.nowMs(),
                                                                 body: try Frames.body(envelopes))
                                out.append((seq, .with { $0.content = content; $0.signature = try! key.signFrame(content) }))
                            }
                        }
                        return out
                    })
                }
            }
            try await group.waitForAll()
        }
        #expect(try await eventually(60) { (try await fast.node.ask("count", 0, timeout: .seconds(30)).integer ?? 0) >= senders * frames * 100 },
                "the fast receiver got everything though another receiver never reads")
        sampling.cancel()
        let nodes = try await HubCall.nodes(hub: url)
        let waitingForSlow = nodes.first { $0.name == "slow" }?.waiting ?? 0
        #expect(waitingForSlow == UInt64(senders * frames), "every frame for slow is kept (on disk), none lost")
        let grew = peak.load(ordering: .relaxed) - idle
        // A hub that kept what waits in memory would grow by more than the 100 MiB itself.
        #expect(grew < 80 << 20, "the hub's memory grew by \(grew >> 20) MiB while 100 MiB waited for a receiver that does not read")
        print("hub burst: the hub's memory grew by \(grew >> 20) MiB with 100 MiB waiting")
        release.store(true, ordering: .relaxed)
        _ = try? await slowTask.value
        await fast.stop()
        hubProcess.terminate()
        hubProcess.waitUntilExit()
    }
}
