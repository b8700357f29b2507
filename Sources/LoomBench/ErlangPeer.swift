import Foundation
import LoomCore

/// `loom bench runtime --peer erlang`: the same workload as Loom's, in Erlang, in the same run.
///
/// Writes the module `loom_peer` (``source``) to a temporary folder, compiles it with `erlc` and runs
/// it with `erl` twice: with one scheduler (`+S 1:1`), messages and asks, the peer of one node; and
/// with two (`+S 2:2`) on two independent groups, each of `processes` processes and the full
/// `messages`, the peer of two Loom nodes each running the whole workload. Needs `erl` and `erlc` on
/// the PATH (Debian: `apt-get install erlang-base`).
///
/// ```swift
/// var peer = ErlangPeer()
/// peer.processes = 10; peer.messages = 1000; peer.asks = 100
/// let r = try await peer.run()
/// print(r.oneScheduler.messagesPerSecond, r.oneScheduler.askP50Microseconds ?? 0)
/// ```
public struct ErlangPeer: Sendable {
    /// One `erl` run's figures, as the module printed them.
    public struct Run: Sendable {
        public var otpRelease: String
        public var schedulers: Int
        /// Independent groups of a sender and `processes` workers, run at once.
        public var groups: Int
        public var processes: Int
        /// Messages each group's sender sent (`messages` rounded down to whole rounds).
        public var messages: Int
        public var repeats: Int
        /// The best repeat: from starting the senders to the last worker's report.
        public var seconds: Double
        /// Every group's messages over `seconds`.
        public var messagesPerSecond: Double
        /// Messages the workers counted in the last repeat (all groups).
        public var handled: Int
        public var asks: Int
        public var askMeanMicroseconds: Double?
        public var askP50Microseconds: Double?
        public var askP99Microseconds: Double?
    }

    public struct Results: Sendable {
        /// `+S 1:1`: one group, and the ask round trip.
        public var oneScheduler: Run
        /// `+S 2:2`: two groups, no asks.
        public var twoSchedulers: Run
        /// Two schedulers' messages per second over one's.
        public var twoSchedulerRatio: Double {
            oneScheduler.messagesPerSecond > 0 ? twoSchedulers.messagesPerSecond / oneScheduler.messagesPerSecond : 0
        }
    }

    public static let module = "loom_peer"
    /// What to install when the tools are missing.
    public static let install = "apt-get install erlang-base"

    public var processes = 1000
    public var messages = 1_000_000
    public var asks = 10_000
    /// Repeats of the message figure per run; the best counts (as Loom's best of three).
    public var repeats = 3
    /// How long one `erl` run may take before it is killed.
    public var limit = Duration.seconds(600)
    /// Where `erl` and `erlc` are looked for: folders separated by `:`, as `PATH`.
    public var searchPath: String

    /// `searchPath` nil: this process's `PATH`.
    public init(searchPath: String? = nil) {
        self.searchPath = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? ""
    }

    /// The paths of `erl` and `erlc`, or a ``PeerError`` of kind `notInstalled` saying what to install.
    public func tools() throws -> (erl: String, erlc: String) {
        func find(_ tool: String) -> String? {
            for folder in searchPath.split(separator: ":") where !folder.isEmpty {
                let path = Paths.join(String(folder), tool)
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            return nil
        }
        guard let erl = find("erl"), let erlc = find("erlc") else {
            let missing = find("erl") == nil ? "erl" : "erlc"
            throw PeerError(.notInstalled, "--peer erlang needs Erlang/OTP: `\(missing)` is not on the PATH; install it "
                            + "(Debian: `\(Self.install)`) or run without --peer")
        }
        return (erl, erlc)
    }

    /// Compiles the module and runs both scheduler settings, one after the other. Sizes out of range
    /// are a ``BenchmarkError``; everything the tools do wrong a ``PeerError``.
    public func run(progress: (String) -> Void = { _ in }) async throws -> Results {
        guard processes > 0, messages >= processes, asks >= 0, repeats > 0 else {
            throw BenchmarkError("the Erlang peer needs processes > 0, messages >= processes, asks >= 0, repeats > 0")
        }
        let (erl, erlc) = try tools()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("loom-peer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = Paths.join(folder, Self.module + ".erl")
        try Self.source.write(toFile: file, atomically: true, encoding: .utf8)

        progress("erlang: compiling \(Self.module) with \(erlc)")
        let compiled = try await TimedProcess.run(erlc, ["-o", folder, file], in: folder, limit: limit)
        if compiled.timedOut { throw PeerError(.timeout, "erlc ran past \(limit) and was killed\(Self.tail(compiled))") }
        if compiled.status != 0 {
            throw PeerError(.compile, "erlc failed (status \(compiled.status))\(Self.tail(compiled))")
        }

        progress("erlang: one scheduler, \(messages) messages to \(processes) processes, \(asks) asks")
        let one = try await erlRun(erl, folder: folder, schedulers: 1, groups: 1, asks: asks)
        progress("erlang: two schedulers, two groups of \(processes) processes and \(messages) messages")
        let two = try await erlRun(erl, folder: folder, schedulers: 2, groups: 2, asks: 0)
        return Results(oneScheduler: one, twoSchedulers: two)
    }

    private func erlRun(_ erl: String, folder: String, schedulers: Int, groups: Int, asks: Int) async throws -> Run {
        let arguments = ["+S", "\(schedulers):\(schedulers)", "-noshell", "-pa", folder, "-run", Self.module, "main",
                         String(processes), String(messages), String(asks), String(repeats), String(groups)]
        let run = try await TimedProcess.run(erl, arguments, in: folder, limit: limit)
        let command = "erl " + arguments.joined(separator: " ")
        if run.timedOut { throw PeerError(.timeout, "`\(command)` ran past \(limit) and was killed\(Self.tail(run))") }
        if run.status != 0 { throw PeerError(.run, "`\(command)` failed (status \(run.status))\(Self.tail(run))") }
        let (parsed, countsOK) = try Self.parse(run.stdout, command: command)
        if parsed.schedulers != schedulers || parsed.groups != groups {
            throw PeerError(.output, "`\(command)` ran \(parsed.groups) groups on \(parsed.schedulers) schedulers, not \(groups) on \(schedulers)")
        }
        let expected = groups * parsed.messages
        if !countsOK || parsed.handled != expected {
            throw PeerError(.check, "`\(command)`: the workers handled \(parsed.handled) messages, not each of \(expected) once")
        }
        return parsed
    }

    /// Reads the module's `loom_peer key=value ...` line.
    /// `countsOK`: the module found every worker's count and sum right.
    static func parse(_ stdout: String, command: String) throws -> (run: Run, countsOK: Bool) {
        let prefix = Self.module + " "
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else {
            throw PeerError(.output, "`\(command)` printed no `\(prefix)...` line; it printed:\n\(stdout)")
        }
        var fields: [String: String] = [:]
        for pair in line.dropFirst(prefix.count).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        func int(_ key: String) throws -> Int {
            guard let v = fields[key].flatMap({ Int($0) }) else { throw PeerError(.output, "`\(command)`: no integer \(key) in: \(line)") }
            return v
        }
        func double(_ key: String) throws -> Double {
            guard let v = fields[key].flatMap({ Double($0) }), v.isFinite else {
                throw PeerError(.output, "`\(command)`: no number \(key) in: \(line)")
            }
            return v
        }
        let asks = try int("asks")
        let run = Run(otpRelease: fields["otp"] ?? "?", schedulers: try int("schedulers"), groups: try int("groups"),
                      processes: try int("processes"), messages: try int("messages"), repeats: try int("repeats"),
                      seconds: try double("seconds"), messagesPerSecond: try double("messages_per_s"), handled: try int("handled"),
                      asks: asks, askMeanMicroseconds: asks > 0 ? try double("ask_mean_us") : nil,
                      askP50Microseconds: asks > 0 ? try double("ask_p50_us") : nil,
                      askP99Microseconds: asks > 0 ? try double("ask_p99_us") : nil)
        return (run, fields["counts_ok"] == "true")
    }

    /// A tool's standard error (or, when empty, its output), for an error message.
    private static func tail(_ run: TimedProcess) -> String {
        let text = run.stderr.isEmpty ? run.stdout : run.stderr
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "" : ":\n" + String(trimmed.suffix(4000))
    }
}
