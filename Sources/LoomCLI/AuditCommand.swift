import ArgumentParser
import Foundation
import LoomAudit
import LoomCore
import Glibc
import LoomRuntime
import Synchronization

/// `loom audit [PATH]`: the Everything Audit.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit a code tree with the weaver node's agents; write AUDIT.md and audit.json.",
        discussion: """
            Ten auditors work on the tree at once, the result-synthesizer has them vote on the top \
            ten priorities, and the report lands in --out (by default the node's .loom/audit). Each \
            auditor remembers its per-file results by content hash in its own memory, so a second \
            run on an unchanged tree reuses them and a changed file is analysed again.
            """
    )

    @Argument(help: "The folder to audit.")
    var path: String = "."

    @Option(help: "The audit node (default: Examples/weaver, found from the current folder or the loom binary).")
    var node: String?

    @Option(help: "Where to write AUDIT.md and audit.json (default: NODE/.loom/audit).")
    var out: String?

    @Flag(help: "Fail, naming each difference, when the node's loom.lock is missing or differs from what resolution gives now.")
    var locked = false

    @Flag(help: "Analyse every file again instead of reusing remembered results.")
    var fresh = false

    func run() async throws {
        guard let nodeDirectory = node ?? Self.defaultNode() else {
            printError("error: no audit node found (looked for Examples/weaver here and beside the loom binary); pass --node DIR")
            throw ExitCode(1)
        }
        var audit = Audit(node: nodeDirectory, tree: path, output: out ?? Paths.join(nodeDirectory, ".loom/audit"))
        audit.reuse = !fresh
        audit.locked = locked
        let display = ProgressDisplay(live: isatty(STDERR_FILENO) != 0)
        printError("auditing \(URL(fileURLWithPath: path).standardizedFileURL.path) with node \(nodeDirectory)")
        let result: Audit.Result
        do {
            result = try await audit.run { display.update($0) }
        } catch {
            display.finish()
            printError("error: \(error)")
            throw ExitCode(1)
        }
        display.finish()
        print(Self.table(result))
        for f in result.failures { print("failed: \(f)") }
        print("report: \(result.markdownPath)")
        print("data:   \(result.jsonPath)")
        if !result.failures.isEmpty { throw ExitCode(1) }
    }

    static func defaultNode() -> String? {
        var candidates = [FileManager.default.currentDirectoryPath + "/Examples/weaver"]
        if let exe = Bundle.main.executablePath {
            var dir = Paths.parent(exe)
            for _ in 0..<4 {
                dir = Paths.parent(dir)
                candidates.append(dir + "/Examples/weaver")
            }
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/node.toml") }
    }

    static func table(_ r: Audit.Result) -> String {
        var lines = [String(format: "%d files audited in %.2f s", r.files, r.seconds), ""]
        let header = ["auditor", "findings", "files", "analysed", "reused", "summary"]
        var rows = [header]
        for row in r.rows {
            rows.append([row.agent, "\(row.findings)", "\(row.files)", "\(row.analysed)", "\(row.reused)", row.summary])
        }
        let widths = (0..<header.count - 1).map { i in rows.map { $0[i].count }.max() ?? 0 }
        for (n, row) in rows.enumerated() {
            var cells: [String] = []
            for (i, cell) in row.enumerated() {
                if i == row.count - 1 { cells.append(cell) }
                else if i == 0 { cells.append(cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)) }
                else { cells.append(String(repeating: " ", count: widths[i] - cell.count) + cell) }
            }
            lines.append(cells.joined(separator: "  "))
            if n == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "  -------") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Live progress per agent on standard error: a block of lines redrawn in place on a terminal,
/// and one line per agent when it finishes otherwise.
final class ProgressDisplay: Sendable {
    private struct State {
        var order: [String] = []
        var lines: [String: String] = [:]
        var drawn = 0
        var lastDraw = ContinuousClock.now - .seconds(1)
        var finished: Set<String> = []
    }
    private let live: Bool
    private let state = Mutex(State())

    init(live: Bool) { self.live = live }

    func update(_ e: Audit.Event) {
        state.withLock { s in
            if s.lines[e.agent] == nil { s.order.append(e.agent) }
            let status: String
            if e.phase == "hashing" || e.phase == "listing" || e.phase == "listed" {
                status = e.phase == "listed" ? "listed \(e.total) files" : "\(e.phase ?? "") \(e.done)/\(e.total)"
            } else if e.event == "vote" {
                status = "voting on the priorities: round \(e.done)"
            } else {
                status = "\(e.done)/\(e.total) files (\(e.reused) remembered)"
            }
            s.lines[e.agent] = status
            let complete = e.event == "progress" && e.total > 0 && e.done == e.total && e.phase == nil
            if !live {
                if complete && !s.finished.contains(e.agent) {
                    s.finished.insert(e.agent)
                    printError("  \(e.agent.padding(toLength: 22, withPad: " ", startingAt: 0)) done: \(status)")
                }
                return
            }
            let now = ContinuousClock.now
            guard now - s.lastDraw > .milliseconds(80) || complete else { return }
            s.lastDraw = now
            draw(&s)
        }
    }

    private func draw(_ s: inout State) {
        var text = s.drawn > 0 ? "\u{1B}[\(s.drawn)A" : ""
        for agent in s.order {
            text += "\u{1B}[2K  \(agent.padding(toLength: 22, withPad: " ", startingAt: 0)) \(s.lines[agent] ?? "")\n"
        }
        s.drawn = s.order.count
        FileHandle.standardError.write(Data(text.utf8))
    }

    func finish() {
        state.withLock { s in if live && !s.order.isEmpty { draw(&s) } }
    }
}
