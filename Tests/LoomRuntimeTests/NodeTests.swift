import Foundation
import LoomMemory
@testable import LoomRuntime
import LuaKit
import Testing

@Suite("Node runtime")
struct NodeTests {
    static let echo = "function on_task(task, from) return {double = task.x * 2, from = from} end"

    @Test("ask and reply: host to agent, agent to agent")
    func askReply() async throws {
        let f = try single([
            "echo": Self.echo,
            "relay": """
                function on_task(task)
                  local r, err = ask("echo", {x = task.x + 1})
                  if not r then return "failed: " .. err end
                  return r.double .. " via " .. r.from
                end
                """,
        ])
        let node = try await start(f)
        #expect(try await node.ask("echo", ["x": 21]) == ["double": 42, "from": "$host"])
        #expect(try await node.ask("relay", ["x": 1]) == "4 via relay")
        await node.shutdown()
    }

    @Test("ask across two nodes in one process")
    func acrossNodes() async throws {
        let f = try NodeFixture(nodes: [
            "left": (parents: [], agents: ["asker": (uses: [], lua: """
                function on_task(task)
                  local r, err = ask("right/echo", {x = task})
                  return r and r.double or err
                end
                """)], skills: [:]),
            "right": (parents: [], agents: ["echo": (uses: [], lua: Self.echo)], skills: [:]),
        ])
        let directory = NodeDirectory()
        let left = try await start(f, "left", directory: directory)
        let right = try await start(f, "right", directory: directory)
        #expect(try await left.ask("asker", 5) == 10)
        #expect(try await left.ask("right/echo", ["x": 1]) == ["double": 2, "from": "$host"])
        do {
            _ = try await left.ask("asker2/echo", 1)
            Issue.record("expected an error")
        } catch let error as ReplyError {
            #expect(error.kind == .noNode)
        }
        await right.shutdown()
        await left.shutdown()
    }

    @Test("messages between a pair keep their order")
    func order() async throws {
        let f = try single(["collector": """
            function on_message(msg) state.seen = state.seen or {}; state.seen[#state.seen + 1] = msg end
            function on_task() return state.seen end
            """])
        let node = try await start(f)
        for i in 1...200 { try await node.send("collector", .integer(Int64(i))) }
        let seen = try await node.ask("collector", .nil)
        #expect(seen.table?.array == (1...200).map { LuaValue.integer(Int64($0)) })
        await node.shutdown()
    }

    @Test("a full mailbox answers the sender with a clear error")
    func fullMailbox() async throws {
        var options = NodeOptions()
        options.mailboxCapacity = 3
        let f = try single(["slow": "function on_message() sleep(0.3) end"])
        let node = try Node(directory: f.path("n"), options: options, directory: NodeDirectory())
        // Not started: nothing drains the mailbox.
        for i in 0..<3 { try await node.send("slow", .integer(Int64(i))) }
        do {
            try await node.send("slow", 4)
            Issue.record("expected mailbox full")
        } catch let error as ReplyError {
            #expect(error.kind == .mailboxFull)
        }
        await node.shutdown()
    }

    @Test("an ask times out with nil and 'timeout'")
    func timeout() async throws {
        let f = try single([
            "sleeper": "function on_task() sleep(30) return 'late' end",
            "impatient": "function on_task() local r, err = ask('sleeper', 1, {timeout = 0.1}) return {r = r, err = err} end",
        ])
        // The sleeper is still asleep at shutdown: no need to wait for it.
        var options = NodeOptions()
        options.shutdownGrace = .milliseconds(100)
        let node = try await start(f, options: options)
        let clock = ContinuousClock()
        let began = clock.now
        #expect(try await node.ask("impatient", .nil) == ["err": "timeout"])
        #expect(clock.now - began < .seconds(20))   // long before the sleeper's 30 s, however loaded the machine
        await node.shutdown()
    }

    @Test("isolation: agents see only their own state; skills only what they were granted")
    func isolation() async throws {
        let f = try NodeFixture(nodes: ["n": (parents: [], agents: [
            "a": (uses: ["quiet@1"], lua: """
                state.secret = "a's"
                function on_task(task)
                  local q = use("quiet@1")
                  local ok, err = pcall(use, "loud@1")
                  return {mine = state.secret, others = rawget(_G, "b"), log_in_skill = q.has_log(),
                          undeclared = err, send_in_skill = q.has_send()}
                end
                """),
            "b": (uses: [], lua: "state.secret = \"b's\"\nfunction on_task() return state.secret end"),
        ], skills: [
            "quiet": (toml: "name = \"quiet\"\nversion = \"1.0.0\"\nprovides = [\"quiet@1\"]\n",
                      lua: "return {has_log = function() return log ~= nil end, has_send = function() return send ~= nil end}"),
            "loud": (toml: "name = \"loud\"\nversion = \"1.0.0\"\nprovides = [\"loud@1\"]\nrequires = [\"log@1\"]\npermissions = [\"log\"]\n",
                     lua: "return {has_log = function() return log ~= nil end}"),
        ])])
        let node = try await start(f)
        let r = try await node.ask("a", .nil)
        #expect(r.table?["mine"] == "a's")
        #expect(r.table?["others"] == .nil)
        #expect(r.table?["log_in_skill"] == false)
        #expect(r.table?["send_in_skill"] == false)
        #expect(r.table?["undeclared"].string?.contains("does not declare loud@1") == true)
        #expect(try await node.ask("b", .nil) == "b's")
        await node.shutdown()
    }

    @Test("a crashing handler: error reply, restart from persisted state, intensity stops it, others go on")
    func crashAndRestart() async throws {
        var options = NodeOptions()
        options.maxRestarts = 2
        options.restartWindow = .seconds(10)
        options.restartBackoff = .milliseconds(1)
        let f = try single([
            "crasher": """
                function on_task(task)
                  state.n = (state.n or 0) + 1
                  if task == "boom" then error("exploded on purpose") end
                  return state.n
                end
                """,
            "echo": Self.echo,
        ])
        let node = try await start(f, options: options)
        #expect(try await node.ask("crasher", "ok") == 1)
        for _ in 0..<3 {
            do {
                _ = try await node.ask("crasher", "boom")
                Issue.record("expected an error")
            } catch let error as ReplyError {
                #expect(error.kind == .handlerFailed(.runtime))
                #expect(error.message.contains("exploded on purpose"))
            }
        }
        let statuses = await node.agents()
        #expect(statuses.first { $0.name == "crasher" }?.state == .failed)
        do {
            _ = try await node.ask("crasher", "ok")
            Issue.record("expected the stopped agent to refuse")
        } catch let error as ReplyError {
            #expect(error.kind == .stopped)
        }
        #expect(try await node.ask("echo", ["x": 1]) == ["double": 2, "from": "$host"])
        await node.shutdown()
    }

    @Test("a restarted agent resumes from its last persisted state")
    func restartFromPersisted() async throws {
        var options = NodeOptions()
        options.restartBackoff = .milliseconds(1)
        options.flushInterval = .milliseconds(1)
        let f = try single(["counter": """
            function on_task(task)
              state.n = (state.n or 0) + 1
              if task == "boom" then error("lost this increment") end
              return state.n
            end
            """])
        let node = try await start(f, options: options)
        #expect(try await node.ask("counter", "ok") == 1)
        #expect(try await node.ask("counter", "ok") == 2)
        try await Task.sleep(for: .milliseconds(150))   // let a flush happen
        _ = try? await node.ask("counter", "boom")
        #expect(try await node.ask("counter", "ok") == 3)
        await node.shutdown()
    }

    @Test("a runaway handler is stopped while other agents keep working")
    func runaway() async throws {
        var options = NodeOptions()
        options.limits.timeout = .milliseconds(200)
        let f = try single(["spinner": "function on_task() while true do end end", "echo": Self.echo])
        let node = try await start(f, options: options)
        async let spun: LuaValue = node.ask("spinner", .nil)
        #expect(try await node.ask("echo", ["x": 2]) == ["double": 4, "from": "$host"])
        do {
            _ = try await spun
            Issue.record("expected a timeout")
        } catch let error as ReplyError {
            #expect(error.kind == .handlerFailed(.timeout))
        }
        #expect(try await node.ask("echo", ["x": 3]) == ["double": 6, "from": "$host"])
        #expect(await node.agents().first { $0.name == "spinner" }?.state != .failed)
        await node.shutdown()
    }

    @Test("passivation and reactivation keep state")
    func passivation() async throws {
        var options = NodeOptions()
        options.idleTime = .milliseconds(600)   // long enough to see it active on a loaded machine
        let f = try single(["counter": "function on_task() state.n = (state.n or 0) + 1 return state.n end"])
        let node = try await start(f, options: options)
        #expect(await node.agents().first?.state == .dormant)
        #expect(try await node.ask("counter", .nil) == 1)
        #expect(await node.agents().first?.state == .active)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(await node.agents().first?.state == .dormant)
        #expect(try await node.ask("counter", .nil) == 2)
        await node.shutdown()
    }

    @Test("graceful shutdown persists state; a new node starts from it")
    func shutdownPersists() async throws {
        var options = NodeOptions()
        options.flushInterval = .seconds(60)
        let f = try single(["counter": "function on_task() state.n = (state.n or 0) + 1 return state.n end"])
        let directory = NodeDirectory()
        let first = try await start(f, options: options, directory: directory)
        for i in 1...3 { #expect(try await first.ask("counter", .nil) == .integer(Int64(i))) }
        await first.shutdown()
        let second = try await start(f, options: options, directory: directory)
        #expect(try await second.ask("counter", .nil) == 4)
        await second.shutdown()
    }

    @Test("state that cannot be stored is reported, and the rest of the node goes on")
    func unstorableState() async throws {
        let f = try single(["bad": "function on_task() state.f = print; return 'ok' end"])
        let node = try await start(f)
        #expect(try await node.ask("bad", .nil) == "ok")
        await node.shutdown()   // logs "cannot store state.f: a function"; does not crash
    }

    @Test("instances of a kind are created on their first message, each with its own state")
    func instances() async throws {
        let f = try single(["counter": "function on_task() state.n = (state.n or 0) + 1 return self.name .. '=' .. state.n end"])
        let node = try await start(f)
        #expect(try await node.ask("counter:a", .nil) == "counter:a=1")
        #expect(try await node.ask("counter:a", .nil) == "counter:a=2")
        #expect(try await node.ask("counter:b", .nil) == "counter:b=1")
        #expect(try await node.ask("counter", .nil) == "counter=1")
        do {
            _ = try await node.ask("nobody:1", .nil)
            Issue.record("expected an error")
        } catch let error as ReplyError {
            #expect(error.kind == .noAgent)
        }
        await node.shutdown()
    }

    @Test("memory@1: an agent remembers, recalls and learns; bad options get clear errors")
    func memory() async throws {
        let f = try NodeFixture(nodes: ["n": (parents: [], agents: [
            "scholar": (uses: ["memory@1"], lua: """
                local memory = use("memory@1")
                function on_task(t)
                  if t == "learn" then
                    memory.remember("the parser fails on nested tables", {tags = {"parser"}, importance = 0.9})
                    memory.remember("lunch is at noon")
                    memory.learn("deploy", "failed", "deploy without tests failed")
                    memory.learn("deploy", "worked", "deploy with tests worked")
                    return true
                  elseif t == "recall" then
                    local found = memory.recall("parser tables", {k = 1})
                    local lessons = memory.lessons("deploy")
                    return {top = found[1].text, tags = found[1].tags[1], worked = lessons.worked[1].text,
                            failed = lessons.failed[1].text}
                  else
                    local ok1, e1 = pcall(memory.remember, "")
                    local ok2, e2 = pcall(memory.remember, "x", {importance = 2})
                    local ok3, e3 = pcall(memory.remember, "x", {colour = "red"})
                    local ok4, e4 = pcall(memory.recall, "x", {k = "many"})
                    return {e1, e2, e3, e4}
                  end
                end
                """),
            "other": (uses: ["memory@1"], lua: "local memory = use('memory@1') function on_task() return #memory.recall('parser') end"),
        ], skills: [:])])
        let node = try await start(f)
        #expect(try await node.ask("scholar", "learn") == true)
        let r = try await node.ask("scholar", "recall").table
        #expect(r?["top"] == "the parser fails on nested tables")
        #expect(r?["tags"] == "parser")
        #expect(r?["worked"] == "deploy with tests worked")
        #expect(r?["failed"] == "deploy without tests failed")
        #expect(try await node.ask("other", .nil) == 0)
        let errors = try await node.ask("scholar", "bad").table?.array.compactMap(\.string) ?? []
        #expect(errors.count == 4)
        #expect(errors[0].contains("memory.remember: the text is empty"))
        #expect(errors[1].contains("importance must be between 0 and 1"))
        #expect(errors[2].contains("unknown option 'colour'"))
        #expect(errors[3].contains("k must be an integer"))
        await node.shutdown()
    }

    @Test("[memory] consolidate_every runs consolidation on schedule")
    func scheduledConsolidation() async throws {
        let f = try NodeFixture(nodes: ["n": (parents: [], agents: [
            "a": (uses: ["memory@1"], lua: """
                local memory = use("memory@1")
                function on_task(t)
                  if t == "write" then memory.remember("short lived", {ttl = 0.05}); memory.remember("kept") return true end
                  local n = 0
                  for _, m in ipairs(memory.recall("", {k = 10})) do n = n + 1 end
                  return n
                end
                """),
        ], skills: [:])])
        try f.write("n/node.toml", "name = \"n\"\n[memory]\nconsolidate_every = 0.2\n")
        let node = try await start(f)
        #expect(try await node.ask("a", "write") == true)
        try await Task.sleep(for: .milliseconds(700))
        #expect(try await node.ask("a", "count") == 1)   // the expired one was consolidated away
        await node.shutdown()
        let rows = try SQLiteNodeStore.forNode(f.path("n")).memory.all()
        #expect(rows.map(\.text) == ["kept"])
    }
}
