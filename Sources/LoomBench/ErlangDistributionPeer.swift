import Foundation

/// The baseline of `loom bench hub`: an ask round trip between two Erlang nodes on loopback, over
/// Erlang distribution (TCP, no signatures), as an Erlang programmer would write it. Node `b`
/// registers an echo process; node `a` sends `{self(), Ref, I}` to `{echo, b}` and waits for
/// `{Ref, I}`, timing each. Needs `erl` and `erlc` (and the `epmd` they start).
struct ErlangDistributionPeer: Sendable {
    var asks = 2000
    var limit = Duration.seconds(120)

    static let module = "loom_dist"
    static let source = """
        -module(loom_dist).
        -export([serve/0, run/2]).

        serve() ->
            register(echo, self()),
            loop().

        loop() ->
            receive
                {From, Ref, I} -> From ! {Ref, I}, loop();
                stop -> ok
            end.

        run(Node, N) ->
            wait(Node, 200),
            Echo = {echo, Node},
            [ask(Echo, I) || I <- lists:seq(1, 200)],
            Times = lists:sort([timed(Echo, I) || I <- lists:seq(1, N)]),
            Us = fun(T) -> erlang:convert_time_unit(T, native, nanosecond) / 1000 end,
            io:format("loom_dist p50_us=~.3f p99_us=~.3f asks=~B~n",
                      [Us(lists:nth(N div 2 + 1, Times)), Us(lists:nth(min(N, N * 99 div 100 + 1), Times)), N]),
            Echo ! stop.

        wait(_, 0) -> erlang:error(no_peer);
        wait(Node, K) ->
            case net_adm:ping(Node) of
                pong ->
                    case rpc:call(Node, erlang, whereis, [echo]) of
                        P when is_pid(P) -> ok;
                        _ -> timer:sleep(50), wait(Node, K - 1)
                    end;
                pang -> timer:sleep(50), wait(Node, K - 1)
            end.

        ask(Echo, I) ->
            Ref = make_ref(),
            Echo ! {self(), Ref, I},
            receive {Ref, I} -> ok after 5000 -> erlang:error(timeout) end.

        timed(Echo, I) ->
            T0 = erlang:monotonic_time(),
            ask(Echo, I),
            erlang:monotonic_time() - T0.
        """

    /// p50 and p99 of the round trip, in µs.
    func run(in folder: String) async throws -> (p50: Double, p99: Double) {
        let tools = try ErlangPeer().tools()
        let file = folder + "/\(Self.module).erl"
        try Self.source.write(toFile: file, atomically: true, encoding: .utf8)
        let compiled = try await TimedProcess.run(tools.erlc, ["-o", folder, file], in: folder, limit: limit)
        guard compiled.status == 0 else { throw PeerError(.compile, "erlc failed: \(compiled.stderr.suffix(500))") }
        let cookie = "loom\(UInt32.random(in: 0...UInt32.max))"
        let tag = UInt32.random(in: 0...UInt32.max)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: tools.erl)
        server.arguments = ["-noshell", "-name", "b\(tag)@127.0.0.1", "-setcookie", cookie, "-pa", folder, "-eval", "loom_dist:serve(), halt()."]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) }; server.waitUntilExit() }
        let run = try await TimedProcess.run(tools.erl, ["-noshell", "-name", "a\(tag)@127.0.0.1", "-setcookie", cookie, "-pa", folder,
                                                         "-eval", "loom_dist:run('b\(tag)@127.0.0.1', \(asks)), halt()."],
                                             in: folder, limit: limit)
        guard let line = run.stdout.split(separator: "\n").last(where: { $0.hasPrefix("loom_dist ") }) else {
            throw PeerError(.output, "erl printed no result: \(run.stderr.suffix(500))\(run.stdout.suffix(500))")
        }
        var fields: [String: Double] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let v = Double(kv[1]) { fields[String(kv[0])] = v }
        }
        guard let p50 = fields["p50_us"], let p99 = fields["p99_us"] else { throw PeerError(.output, "cannot read '\(line)'") }
        return (p50, p99)
    }
}
