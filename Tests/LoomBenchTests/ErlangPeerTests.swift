import Foundation
@testable import LoomBench
import LoomTesting
import Testing

/// `loom bench runtime --peer erlang`'s peer: the real Erlang module on a tiny workload, and every
/// way the tools can fail (stand-in `erl` and `erlc` scripts), each a ``PeerError`` of its kind.
@Suite("the Erlang peer")
struct ErlangPeerTests {
    /// A peer with a tiny workload (10 processes, 1,000 messages, 100 asks, one repeat).
    static func tiny(searchPath: String? = nil) -> ErlangPeer {
        var peer = ErlangPeer(searchPath: searchPath)
        peer.processes = 10
        peer.messages = 1000
        peer.asks = 100
        peer.repeats = 1
        peer.limit = .seconds(120)
        return peer
    }

    /// A folder holding stand-in `erl` and `erlc` shell scripts.
    static func tools(erl: String, erlc: String = "exit 0") throws -> TemporaryFolder {
        let folder = try TemporaryFolder(["erl": "#!/bin/sh\n\(erl)\n", "erlc": "#!/bin/sh\n\(erlc)\n"], prefix: "loom-fake-erlang")
        for tool in ["erl", "erlc"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path(tool))
        }
        return folder
    }

    @Test("runs the module with one scheduler and with two, and reads every figure (needs erlang-base)")
    func tinyWorkload() async throws {
        let r = try await Self.tiny().run()
        let one = r.oneScheduler, two = r.twoSchedulers
        #expect(one.schedulers == 1 && one.groups == 1 && one.processes == 10 && one.messages == 1000)
        #expect(one.handled == 1000)
        #expect(one.seconds > 0 && one.messagesPerSecond > 0)
        #expect(one.asks == 100)
        #expect((one.askMeanMicroseconds ?? 0) > 0 && (one.askP50Microseconds ?? 0) > 0)
        #expect((one.askP99Microseconds ?? 0) >= (one.askP50Microseconds ?? .infinity))
        #expect(two.schedulers == 2 && two.groups == 2 && two.messages == 1000 && two.handled == 2000)
        #expect(two.messagesPerSecond > 0 && two.askP50Microseconds == nil)
        #expect(r.twoSchedulerRatio > 0)
        #expect(!one.otpRelease.isEmpty)
    }

    @Test("erl missing from the PATH: an error of kind notInstalled naming the package")
    func notInstalled() async throws {
        for path in ["", "/nonexistent-loom-folder"] {
            let peer = Self.tiny(searchPath: path)
            let error = #expect(throws: PeerError.self) { try peer.tools() }
            #expect(error?.kind == .notInstalled)
            #expect(error?.description.contains("apt-get install erlang-base") == true)
            await #expect(throws: PeerError.self) { _ = try await peer.run() }
        }
        // erl present, erlc missing
        let folder = try TemporaryFolder(["erl": "#!/bin/sh\n"], prefix: "loom-fake-erlang")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path("erl"))
        let error = #expect(throws: PeerError.self) { try Self.tiny(searchPath: folder.root).tools() }
        #expect(error?.kind == .notInstalled)
        #expect(error?.description.contains("erlc") == true)
    }

    @Test("a failing, silent, garbled or miscounting peer gives an error of its kind, with its standard error")
    func brokenPeers() async throws {
        let line = "loom_peer otp=25 schedulers=1 groups=1 processes=10 messages=1000 repeats=1 seconds=0.1 "
            + "messages_per_s=10000.0 handled=1000 counts_ok=true asks=100 ask_mean_us=1.0 ask_p50_us=1.0 ask_p99_us=2.0"
        let cases: [(erl: String, erlc: String, kind: PeerError.Kind, says: String)] = [
            ("exit 0", "echo 'loom_peer.erl:3: syntax error' >&2; exit 1", .compile, "syntax error"),
            ("echo 'Kernel pid terminated (boom)' >&2; exit 3", "exit 0", .run, "boom"),
            ("echo 'hello'", "exit 0", .output, "hello"),
            ("echo 'loom_peer schedulers=one'", "exit 0", .output, "schedulers"),
            ("echo '\(line.replacingOccurrences(of: "counts_ok=true", with: "counts_ok=false"))'", "exit 0", .check, "handled"),
            ("echo '\(line.replacingOccurrences(of: "handled=1000", with: "handled=999"))'", "exit 0", .check, "999"),
            ("echo '\(line.replacingOccurrences(of: " ask_p50_us=1.0", with: ""))'", "exit 0", .output, "ask_p50_us"),
        ]
        for c in cases {
            let folder = try Self.tools(erl: c.erl, erlc: c.erlc)
            let error = await #expect(throws: PeerError.self) { _ = try await Self.tiny(searchPath: folder.root).run() }
            #expect(error?.kind == c.kind, "\(c.erl) / \(c.erlc)")
            #expect(error?.description.contains(c.says) == true, "\(error?.description ?? "")")
        }
    }

    @Test("a peer that hangs is killed at its time limit")
    func hangingPeer() async throws {
        let folder = try Self.tools(erl: "echo 'still thinking' >&2; exec sleep 60")
        var peer = Self.tiny(searchPath: folder.root)
        peer.limit = .milliseconds(500)
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: PeerError.self) { _ = try await peer.run() }
        #expect(error?.kind == .timeout)
        #expect(error?.description.contains("still thinking") == true)
        // Killed, not waited for: the stand-in would sleep 60 s (the bound is loose for loaded machines).
        #expect(clock.now - start < .seconds(50))
    }
}
