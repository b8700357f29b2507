import Foundation
import Testing

@Suite("loom run and loom agents")
struct RunCommandTests {
    /// A copy of Examples/council with the standard skills beside it, so that state starts empty.
    func council() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("Examples"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: LoomProcess.packageRoot.appendingPathComponent("Examples/council"),
                                         to: root.appendingPathComponent("Examples/council"))
        try FileManager.default.copyItem(at: LoomProcess.packageRoot.appendingPathComponent("Skills"),
                                         to: root.appendingPathComponent("Skills"))
        try? FileManager.default.removeItem(at: root.appendingPathComponent("Examples/council/.loom"))
        return root.appendingPathComponent("Examples/council")
    }

    @Test("--task delivers one task, prints the reply, and saves state for the next run")
    func task() throws {
        let dir = try council()
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent().deletingLastPathComponent()) }
        let first = try LoomProcess.run(["run", dir.path, "--task", "rewrite the parser", "--to", "chair"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout == "decision #1 on \"rewrite the parser\": no (majority; optimist=yes, skeptic=no, pragmatist=no)\n")
        let second = try LoomProcess.run(["run", dir.path, "--task", "add a test", "--to", "chair"])
        #expect(second.stdout.hasPrefix("decision #2 on \"add a test\": yes"))
        let agents = try LoomProcess.run(["agents", dir.path])
        #expect(agents.stdout.contains("chair"))
        #expect(agents.stdout.contains("dormant"))
        let missing = try LoomProcess.run(["run", dir.path, "--task", "x", "--to", "nobody"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no agent 'nobody' on node 'council'"))
    }

    @Test("--serve runs until SIGTERM, then shuts down cleanly")
    func serve() throws {
        let dir = try council()
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent().deletingLastPathComponent()) }
        let (process, _, err) = try LoomProcess.start(["run", dir.path, "--serve"])
        Thread.sleep(forTimeInterval: 1.0)
        #expect(process.isRunning)
        let text = LoomProcess.stop(process, stderr: err)   // SIGTERM
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        #expect(text.contains("SIGTERM: shutting down node 'council'"))
    }

    @Test("SIGTERM during --task finishes the accepted work and saves it; a second one ends the grace")
    func interruptedTask() throws {
        let root = try LoomProcess.tree([
            "n/node.toml": "name = \"n\"\n",
            "n/agents/worker/agent.toml": "name = \"worker\"\n",
            "n/agents/worker/agent.lua": """
                function on_task(t)
                  if t == "state" then return (state.finished and "finished" or "not finished") .. " " .. tostring(state.naps) end
                  if t == "nap" then
                    send("worker", "long")
                    state.started = true
                    sleep(1)
                    state.finished = true
                    return "done"
                  end
                end
                function on_message() state.naps = (state.naps or 0) + 1 sleep(20) end
                """,
        ])
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("n").path
        // The first signal abandons the task; the drain lets the one-second nap finish and saves it.
        let (first, _, firstErr) = try LoomProcess.start(["run", dir, "--task", "nap", "--to", "worker", "--grace", "10"])
        Thread.sleep(forTimeInterval: 0.5)
        let text = LoomProcess.stop(first, stderr: firstErr)
        #expect(first.terminationStatus == 130, "\(text)")
        #expect(text.contains("SIGTERM: the task is abandoned; shutting down node 'n'"))
        #expect(try LoomProcess.run(["run", dir, "--task", "state", "--to", "worker", "--grace", "0"]).stdout == "finished 1\n")
        // The 20 s nap the message started is not waited for (it ends after the grace); a second
        // signal is not needed, but is taken as "hurry" when sent.
        let (second, _, secondErr) = try LoomProcess.start(["run", dir, "--task", "nap", "--to", "worker", "--grace", "3600"])
        Thread.sleep(forTimeInterval: 0.3)
        second.terminate()
        Thread.sleep(forTimeInterval: 0.2)
        let more = LoomProcess.stop(second, stderr: secondErr)
        #expect(!second.isRunning)
        #expect(second.terminationStatus == 130, "\(more)")
        #expect(more.contains("SIGTERM: ending the grace period, saving state"), "\(more)")
    }

    @Test("--serve reloads a changed behaviour, and refuses one that does not compile")
    func serveReloads() throws {
        let dir = try council()
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent().deletingLastPathComponent()) }
        let (process, _, err) = try LoomProcess.start(["run", dir.path, "--serve"])
        Thread.sleep(forTimeInterval: 0.8)
        let chair = dir.appendingPathComponent("agents/chair/agent.lua")
        try "function on_task(t)\n  return 'out' ..\nend\n".write(to: chair, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.5)
        try "function on_task(t) return 'the chair is out' end\n".write(to: chair, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.5)
        let text = LoomProcess.stop(process, stderr: err)
        #expect(text.contains("reload refused; the old version keeps serving: "), "\(text)")
        #expect(text.contains("agents/chair/agent.lua:3: unexpected symbol"), "\(text)")
        #expect(text.contains("reloaded: changed [\"chair\"]"), "\(text)")
        #expect(process.terminationStatus == 0)
    }
}

