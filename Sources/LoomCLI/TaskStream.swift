import Foundation
import LoomRuntime
import LuaKit
import Synchronization

/// `loom run NODE --to AGENT --stdin`: every line of standard input is a task (a string, as
/// `--task` takes it) asked of one agent; each reply is printed as one JSON line as soon as it
/// arrives, `{"line": N, "reply": TEXT}` (TEXT as `--task` prints a reply: a string as it is, any
/// other value as a Lua literal) or `{"line": N, "error": MESSAGE, "kind": KIND}`, in the order
/// replies arrive. Up to `inFlight` tasks wait for their replies at once. At the end of the input
/// it waits for the replies still due.
struct TaskStream: Sendable {
    let node: Node
    let agent: String
    let timeout: Duration
    let inFlight: Int

    /// Asks every line's task; returns how many failed.
    func run() async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            var waiting = 0, failed = 0, number = 0
            for await line in Self.lines() {
                if Task.isCancelled { break }
                if waiting >= inFlight, let ok = await group.next() {
                    waiting -= 1
                    if !ok { failed += 1 }
                }
                number += 1
                let n = number
                group.addTask { await ask(line, number: n) }
                waiting += 1
            }
            for await ok in group where !ok { failed += 1 }
            return failed
        }
    }

    /// Asks one task and prints its reply; returns whether it succeeded.
    private func ask(_ task: String, number: Int) async -> Bool {
        do {
            let reply = try await node.ask(agent, .string(LuaString(task)), timeout: timeout)
            Self.emit(["line": number, "reply": reply.string ?? reply.debugDescription])
            return true
        } catch let error as ReplyError {
            let kind = String(describing: error.kind).prefix { $0 != "(" }
            Self.emit(["line": number, "error": error.message, "kind": String(kind)])
        } catch {
            Self.emit(["line": number, "error": "\(error)", "kind": "error"])
        }
        return false
    }

    /// Standard input's lines, read on a thread of their own (a read blocks).
    static func lines() -> AsyncStream<String> {
        AsyncStream { continuation in
            Thread {
                while let line = readLine(strippingNewline: true) { continuation.yield(line) }
                continuation.finish()
            }.start()
        }
    }

    /// Writes one JSON line to standard output at once (no buffering), whole.
    private static func emit(_ object: [String: Any]) {
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(0x0A)
        output.withLock { _ in FileHandle.standardOutput.write(data) }
    }

    private static let output = Mutex(())
}
