extension ErlangPeer {
    /// The Erlang module `loom_peer`: the workload of `loom bench runtime`'s agent-to-agent figure
    /// and ask round trip, written as an Erlang programmer would. ``ErlangPeer`` writes it to a
    /// temporary folder, compiles it with `erlc` and runs it with `erl`.
    ///
    /// `main/1` takes `Processes Messages Asks Repeats Groups` (strings, as `erl -run` passes them):
    ///
    /// - **Messages.** `Groups` independent groups, each of `Processes` worker processes and one
    ///   sender. Each sender sends `Messages div Processes` rounds of one 3-field map
    ///   `#{a => 1, b => 2, c => 3}` to each of its workers (round-robin; the map is built at run time,
    ///   so every send copies it, as Loom's `send` copies), then `{done, Main}`. A worker's handler
    ///   updates its map state's `count` and `sum` from the message; on `done` it reports both. The
    ///   time runs from starting the senders to the last report; every worker must have counted
    ///   every message once (`counts_ok`). Fresh processes each repeat; the best repeat counts.
    /// - **Asks.** One process asks another `Asks` times: a send of `{ask, Self, Ref, I}` and a
    ///   receive of `{Ref, I}` (with a 5 s `after`, as Loom's ask has a 5 s timeout), each timed
    ///   with the monotonic clock: mean, p50 and p99.
    ///
    /// It prints one line, `loom_peer key=value ...`, and halts 0; a failure prints the reason on
    /// standard error and halts 2.
    static let source = #"""
        %% The Erlang peer of `loom bench runtime`: Loom writes, compiles and runs this module
        %% (Sources/LoomBench/ErlangPeerSource.swift). Usage:
        %%   erl -noshell +S 1:1 -pa DIR -run loom_peer main Processes Messages Asks Repeats Groups
        -module(loom_peer).
        -export([main/1]).

        -define(WAIT, 120000).

        main([P, M, A, R, G]) ->
            try
                Processes = list_to_integer(P),
                Messages = list_to_integer(M),
                Asks = list_to_integer(A),
                Repeats = list_to_integer(R),
                Groups = list_to_integer(G),
                true = Processes > 0 andalso Messages >= Processes andalso Asks >= 0
                    andalso Repeats > 0 andalso Groups > 0,
                Rounds = Messages div Processes,
                Runs = [messages(Groups, Processes, Rounds) || _ <- lists:seq(1, Repeats)],
                Best = lists:min([S || {S, _, _} <- Runs]),
                CountsOk = lists:all(fun({_, Ok, _}) -> Ok end, Runs),
                {_, _, Handled} = lists:last(Runs),
                Sent = Processes * Rounds,
                Fields = [{otp, erlang:system_info(otp_release)},
                          {schedulers, erlang:system_info(schedulers_online)},
                          {groups, Groups}, {processes, Processes}, {messages, Sent},
                          {repeats, Repeats}, {seconds, Best},
                          {messages_per_s, Groups * Sent / Best},
                          {handled, Handled}, {counts_ok, CountsOk}, {asks, Asks}]
                    ++ asks(Asks),
                io:format("loom_peer ~s~n", [lists:join(" ", [field(K, V) || {K, V} <- Fields])]),
                halt(0)
            catch
                Class:Reason:Stack ->
                    io:format(standard_error, "loom_peer failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
                    halt(2)
            end;
        main(Args) ->
            io:format(standard_error,
                      "loom_peer: expected Processes Messages Asks Repeats Groups, got ~p~n", [Args]),
            halt(2).

        field(K, V) when is_float(V) -> io_lib:format("~s=~.6f", [K, V]);
        field(K, V) when is_integer(V) -> io_lib:format("~s=~b", [K, V]);
        field(K, V) when is_atom(V) -> io_lib:format("~s=~s", [K, V]);
        field(K, V) -> io_lib:format("~s=~s", [K, V]).

        seconds(Native) -> erlang:convert_time_unit(Native, native, nanosecond) / 1.0e9.

        %% One repeat of the message figure: {Seconds, CountsOk, Handled}.
        messages(Groups, Processes, Rounds) ->
            Main = self(),
            Sets = [[spawn(fun() -> worker(#{count => 0, sum => 0}) end)
                     || _ <- lists:seq(1, Processes)]
                    || _ <- lists:seq(1, Groups)],
            T0 = erlang:monotonic_time(),
            [spawn(fun() -> sender(Workers, Rounds, Main) end) || Workers <- Sets],
            Counts = [collect() || _ <- lists:seq(1, Groups * Processes)],
            T1 = erlang:monotonic_time(),
            Ok = lists:all(fun({N, S}) -> N =:= Rounds andalso S =:= 6 * Rounds end, Counts),
            {seconds(T1 - T0), Ok, lists:sum([N || {N, _} <- Counts])}.

        collect() ->
            receive
                {counted, N, S} -> {N, S}
            after ?WAIT -> exit(workers_did_not_report)
            end.

        worker(State) ->
            receive
                #{a := A, b := B, c := C} ->
                    #{count := N, sum := S} = State,
                    worker(State#{count := N + 1, sum := S + A + B + C});
                {done, Main} ->
                    #{count := N, sum := S} = State,
                    Main ! {counted, N, S}
            end.

        sender(Workers, Rounds, Main) ->
            Message = maps:from_list([{a, 1}, {b, 2}, {c, 3}]),
            rounds(Workers, Rounds, Message),
            [W ! {done, Main} || W <- Workers],
            ok.

        rounds(_, 0, _) -> ok;
        rounds(Workers, K, Message) ->
            send_all(Workers, Message),
            rounds(Workers, K - 1, Message).

        send_all([], _) -> ok;
        send_all([W | Ws], Message) ->
            W ! Message,
            send_all(Ws, Message).

        %% The ask round trip: fields for the output line.
        asks(0) -> [];
        asks(N) ->
            Server = spawn(fun server/0),
            Times = ask_loop(Server, 1, N, []),
            Server ! stop,
            Sorted = lists:sort(Times),
            Micro = fun(Native) -> seconds(Native) * 1.0e6 end,
            [{ask_mean_us, Micro(lists:sum(Times)) / N},
             {ask_p50_us, Micro(lists:nth(N div 2 + 1, Sorted))},
             {ask_p99_us, Micro(lists:nth(min(N, N * 99 div 100 + 1), Sorted))}].

        ask_loop(_, I, N, Times) when I > N -> Times;
        ask_loop(Server, I, N, Times) ->
            T0 = erlang:monotonic_time(),
            Ref = make_ref(),
            Server ! {ask, self(), Ref, I},
            receive
                {Ref, I} -> ok
            after 5000 -> exit(ask_timeout)
            end,
            T1 = erlang:monotonic_time(),
            ask_loop(Server, I + 1, N, [T1 - T0 | Times]).

        server() ->
            receive
                {ask, From, Ref, X} ->
                    From ! {Ref, X},
                    server();
                stop -> ok
            end.
        """#
}
