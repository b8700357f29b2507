import Crypto
import Foundation
import SwiftProtobuf
import GRPCCore
import GRPCNIOTransportHTTP2
import LoomBundle
import LoomCore
import LoomHubClient
import LoomRuntime
import LoomWire
import LuaKit
import Synchronization

/// `loom bench hub`: nodes in separate processes through a hub, beside the same work in one process.
///
/// A hub (`loom hub serve`) and a node `far` (`loom run far --serve --hub`) run as child processes
/// of this one; the node `near` runs here with its own link. Figures:
/// - an ask from `near`'s agent to `far`'s agent and back (host asks `pinger`, which asks
///   `far/echo`), p50 and p99, beside the same between two nodes of one process;
/// - one-way messages per second from `near` to `far/counter`, signed, until `far`'s count (asked
///   through the hub) equals what was sent;
/// - the hub's RSS with `simulated` extra nodes connected (each a stream that said hello);
/// - the floor signatures set: one Ed25519 signature and two verifications (the hub's and the
///   receiver's) per hop, measured here with the same library.
public struct HubBenchmark: Sendable {
    public var asks = 2000
    public var messages = 200_000
    public var simulated = 1000
    /// Also time the same ask between two Erlang nodes over distribution (needs erl and erlc).
    public var erlang = true

    public init() {}

    public struct Result: Sendable {
        public var askP50: Double = 0, askP99: Double = 0
        public var localAskP50: Double = 0, localAskP99: Double = 0
        public var messagesPerSecond: Double = 0
        public var delivered = 0, sent = 0
        public var hubRSSIdle = 0, hubRSSConnected = 0, connected = 0
        public var signMicroseconds: Double = 0, verifyMicroseconds: Double = 0
        /// The ask between two Erlang nodes on loopback (distribution), when run; or why not.
        public var erlangAskP50: Double?, erlangAskP99: Double?, erlangMissing: String?
        /// One ask and its reply: two hops, each one signature and two verifications.
        public var signatureFloorMicroseconds: Double { 2 * (signMicroseconds + 2 * verifyMicroseconds) }
    }

    static let echo = "function on_task(t) return t end"
    static let pinger = "function on_task(t) local r, err = ask(t, 1) if err then error(err) end return r end"
    static let counter = "function on_message(m) state.n = (state.n or 0) + 1 end function on_task(t) return state.n or 0 end"

    public func run(loom executable: String, progress: (String) -> Void = { _ in }) async throws -> Result {
        var r = Result()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-hub-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        (r.signMicroseconds, r.verifyMicroseconds) = Self.signatureCosts()

        // The same ask in one process: two nodes, one directory.
        do {
            let directory = NodeDirectory()
            let a = try Node(directory: try RuntimeBenchmark.makeNode(root, "samenear", agents: ["pinger": Self.pinger]), directory: directory)
            let b = try Node(directory: try RuntimeBenchmark.makeNode(root, "samefar", agents: ["echo": Self.echo]), directory: directory)
            await a.start(); await b.start()
            (r.localAskP50, r.localAskP99) = try await Self.timeAsks(a, to: "samefar/echo", count: asks)
            await a.shutdown(); await b.shutdown()
        }

        if erlang {
            progress("erlang: an ask between two nodes over distribution")
            do { (r.erlangAskP50, r.erlangAskP99) = try await ErlangDistributionPeer(asks: asks).run(in: root) } catch {
                r.erlangMissing = "\(error)"
            }
        }

        progress("starting a hub and a node process")
        let hub = try ChildProcess(executable, ["hub", "serve", "--listen", "127.0.0.1:0", "--data", root + "/hub"])
        defer { hub.kill() }
        guard let line = hub.firstLine(timeout: 30), let urlText = line.split(separator: " ").last else {
            throw BenchmarkError("the hub did not start: \(hub.errors())")
        }
        let url = try HubURL(String(urlText))
        let farPath = try RuntimeBenchmark.makeNode(root, "far", agents: ["echo": Self.echo, "counter": Self.counter])
        let nearPath = try RuntimeBenchmark.makeNode(root, "near", agents: ["pinger": Self.pinger])
        _ = try NodeIdentity.create(node: farPath)
        _ = try NodeIdentity.create(node: nearPath)
        let far = try ChildProcess(executable, ["run", farPath, "--serve", "--hub", url.description])
        defer { far.terminate() }
        let near = try Node(directory: nearPath, directory: NodeDirectory())
        await near.start()
        let link = try HubLink(node: near, directory: nearPath, hub: url)
        await near.route(remote: link)
        let linkTask = Task { try? await link.run() }
        defer { link.stop() }
        // Up when an ask crosses.
        let deadline = Date().addingTimeInterval(30)
        while true {
            if (try? await near.ask("far/echo", 1, timeout: .seconds(1))) != nil { break }
            guard Date() < deadline else { throw BenchmarkError("the node process did not answer through the hub: \(far.errors())") }
            try await Task.sleep(for: .milliseconds(50))
        }

        progress("asks across processes")
        (r.askP50, r.askP99) = try await Self.timeAsks(near, to: "far/echo", count: asks)

        progress("one-way messages across processes")
        let batch = 1000
        let clock = ContinuousClock(), start = clock.now
        var sent = 0
        while sent < messages {
            let n = min(batch, messages - sent)
            let failures = try await near.send(many: (0..<n).map { _ in (agent: "far/counter", message: LuaValue.integer(1)) })
            guard failures.isEmpty else { throw BenchmarkError("sends failed: \(failures.first!.error)") }
            sent += n
            // Keep the outbox within reach of the wire (the outbox is durable; this only paces).
            while (try? link.unacknowledged()) ?? 0 > 64 { try await Task.sleep(for: .microseconds(200)) }
        }
        var count = 0
        while count < messages {
            count = Int((try await near.ask("far/counter", 0, timeout: .seconds(30))).integer ?? 0)
            if count < messages { try await Task.sleep(for: .milliseconds(2)) }
            guard clock.now - start < .seconds(600) else { break }
        }
        let seconds = Double((clock.now - start).components.seconds) + Double((clock.now - start).components.attoseconds) / 1e18
        r.sent = sent
        r.delivered = count
        r.messagesPerSecond = Double(count) / seconds

        progress("hub memory with \(simulated) nodes connected")
        r.hubRSSIdle = hub.rss()
        r.connected = try await Self.connectSimulated(simulated, to: url) { r.hubRSSConnected = hub.rss() }

        await near.shutdown()
        link.stop()
        await linkTask.value
        return r
    }

    static func timeAsks(_ node: Node, to target: String, count: Int) async throws -> (Double, Double) {
        for _ in 0..<min(200, count) { _ = try await node.ask("pinger", .string(LuaString(target))) }
        var samples: [Double] = []
        samples.reserveCapacity(count)
        let clock = ContinuousClock()
        for _ in 0..<count {
            let t = clock.now
            _ = try await node.ask("pinger", .string(LuaString(target)))
            let d = clock.now - t
            samples.append(Double(d.components.attoseconds) / 1e12 + Double(d.components.seconds) * 1e6)
        }
        samples.sort()
        return (samples[samples.count / 2], samples[min(samples.count - 1, samples.count * 99 / 100)])
    }

    /// Ed25519 with swift-crypto, as the hub and the nodes use it: µs per signature and per verification.
    static func signatureCosts() -> (Double, Double) {
        let key = Curve25519.Signing.PrivateKey()
        let message = Data(repeating: 7, count: 200)
        let clock = ContinuousClock()
        let n = 2000
        var sig = Data()
        let t0 = clock.now
        for _ in 0..<n { sig = (try? key.signature(for: message)) ?? sig }
        let t1 = clock.now
        var ok = 0
        for _ in 0..<n where key.publicKey.isValidSignature(sig, for: message) { ok += 1 }
        let t2 = clock.now
        func us(_ d: Duration) -> Double { (Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12) / Double(n) }
        return (us(t1 - t0), ok == n ? us(t2 - t1) : .nan)
    }

    /// Opens `count` streams to the hub, each a node that says hello, measures while all are up,
    /// and closes them; returns how many were welcomed.
    static func connectSimulated(_ count: Int, to hub: HubURL, whileConnected measure: () -> Void) async throws -> Int {
        let welcomed = Welcomed()
        let perClient = 100
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<(count + perClient - 1) / perClient {
                group.addTask {
                    try await withGRPCClient(transport: try HTTP2ClientTransport.Posix(
                        target: .ipv4(address: hub.host, port: hub.port), transportSecurity: .plaintext)) { client in
                        let api = Loom_Hub_V1_Hub.Client(wrapping: client)
                        try await withThrowingTaskGroup(of: Void.self) { streams in
                            for i in 0..<min(perClient, count - c * perClient) {
                                streams.addTask {
                                    let key = FrameSigner(Curve25519.Signing.PrivateKey())
                                    let claim = try Loom_Hub_V1_HelloClaim.with {
                                        $0.name = "sim\(c * perClient + i)"; $0.publicKey = key.publicKey
                                        $0.lineage = ["sim\(c * perClient + i)"]; $0.protocolVersion = Frames.version
                                    }.serializedData()
                                    let queue = SignalQueue<Loom_Hub_V1_NodeMessage>()
                                    try await api.connect(request: StreamingClientRequest(of: Loom_Hub_V1_NodeMessage.self) { writer in
                                        while let b = await queue.next() { for m in b { try await writer.write(m) } }
                                    }) { response in
                                        defer { queue.close() }
                                        var it = response.messages.makeAsyncIterator()
                                        do { _ = try await HubHandshake.hello(&it, claim: claim, signer: key, name: "sim", on: queue) } catch { return }
                                        welcomed.count.add(1, ordering: .relaxed)
                                        // Held open until measured.
                                        while !welcomed.released.load(ordering: .relaxed) { try await Task.sleep(for: .milliseconds(50)) }
                                    }
                                }
                            }
                            try await streams.waitForAll()
                        }
                    }
                }
            }
            let deadline = Date().addingTimeInterval(60)
            while welcomed.count.load(ordering: .relaxed) < count && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            try await Task.sleep(for: .milliseconds(300))
            measure()
            let n = welcomed.count.load(ordering: .relaxed)
            welcomed.released.store(true, ordering: .relaxed)
            try await group.waitForAll()
            return n
        }
    }
}

/// A child `loom` process: its standard output's first line, its standard error, its RSS.
final class ChildProcess {
    private let process: Process
    private let out: Pipe
    private let errFile: String

    init(_ executable: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        out = Pipe()
        errFile = FileManager.default.temporaryDirectory.appendingPathComponent("loom-child-\(UUID().uuidString).err").path
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: errFile)
        try p.run()
        process = p
    }

    func firstLine(timeout: Double) -> String? {
        let fd = out.fileHandleForReading.fileDescriptor
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while Date() < deadline {
            guard poll(&pfd, 1, 100) > 0 else { continue }
            var b: UInt8 = 0
            guard read(fd, &b, 1) == 1 else { return nil }
            if b == 10 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(b)
        }
        return nil
    }

    func errors() -> String { (try? String(contentsOfFile: errFile, encoding: .utf8))?.suffix(2000).description ?? "" }

    /// Resident memory in bytes (VmRSS).
    func rss() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        kill()
        try? FileManager.default.removeItem(atPath: errFile)
    }

    func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// How many simulated nodes the hub has welcomed.
private final class Welcomed: Sendable {
    let count = Atomic<Int>(0)
    let released = Atomic<Bool>(false)
}
