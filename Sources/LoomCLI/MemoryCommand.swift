import ArgumentParser
import Foundation
import LoomCore
import LoomMemory
import LoomRuntime

/// `loom memory NODE ACTION ...`: the agents' memory in a node's database.
struct MemoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Search, count, export, import, consolidate and back up a node's agent memory.",
        discussion: """
            loom memory NODE search QUERY [--agent A] [--commons] [--k N]
            loom memory NODE stats
            loom memory NODE export --jsonl          (to standard output)
            loom memory NODE import FILE             (into an empty store; ids kept)
            loom memory NODE consolidate
            loom memory NODE backup FILE             (SQLite's online backup API)
            """
    )

    @Argument(help: "The node's folder.") var node: String
    @Argument(help: "search, stats, export, import, consolidate or backup.") var action: String
    @Argument(help: "The query (search) or the file (import, backup).") var operand: String?
    @Option(help: "search: the agent whose memory to search (default: the commons).") var agent: String?
    @Flag(help: "search: include the node commons.") var commons = false
    @Option(help: "search: how many results.") var k = 10
    @Flag(help: "export: JSON lines (the only format).") var jsonl = false

    func validate() throws {
        let actions = ["search", "stats", "export", "import", "consolidate", "backup"]
        guard actions.contains(action) else {
            throw ValidationError("unknown action '\(action)'; use one of \(actions.joined(separator: ", "))")
        }
        if ["search", "import", "backup"].contains(action), operand == nil {
            throw ValidationError("\(action) needs \(action == "search" ? "a QUERY" : "a FILE")")
        }
        guard (1...100).contains(k) else { throw ValidationError("--k must be between 1 and 100") }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: Paths.join(node, "node.toml")) else {
            printError("error: \(node) is not a node (no node.toml)")
            throw ExitCode(2)
        }
        let database = try SQLiteNodeStore.forNode(node)
        let store = database.memory
        switch action {
        case "search":
            var options = RecallOptions()
            options.k = k
            options.commons = commons || agent == nil
            for r in try store.recall(agent: agent ?? Commons.agent, query: operand ?? "", options: options) {
                let m = r.memory
                let who = m.agent == Commons.agent ? "commons (by \(m.sourceAgent))" : m.agent
                print(String(format: "%6.3f  #%lld  ", r.score, m.id) + "\(who)  [\(m.kind.rawValue)]  \(m.text)")
            }
            try store.flushUsage()
        case "stats":
            let s = try store.stats()
            print("memories: \(s.total)")
            for (kind, n) in s.byKind.sorted(by: { $0.key < $1.key }) { print("  \(kind): \(n)") }
            print("agents: \(s.byAgent.count)")
            for (agent, n) in s.byAgent.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }).prefix(10) {
                print("  \(agent): \(n)")
            }
        case "export":
            for m in try store.all() { print(try MemoryJSON.line(m)) }
        case "import":
            let file = operand ?? ""
            let bytes: [UInt8]
            do { bytes = try ManifestText.readBytes(file, what: "the file to import", limit: Int.max) } catch {
                printError(error.description)
                throw ExitCode(2)
            }
            var memories: [Memory] = []
            // Lines by bytes (a CRLF file is a file of lines too); each must be UTF-8.
            for (i, raw) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
                let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
                guard !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { continue }
                do {
                    guard let line = String(validating: bytes, as: UTF8.self) else { throw MemoryError("line \(i + 1): not valid UTF-8") }
                    memories.append(try MemoryJSON.memory(line, number: i + 1))
                } catch {
                    printError("error: \(file): \(error)")
                    throw ExitCode(1)
                }
            }
            do { try store.importAll(memories) } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
            print("imported \(memories.count) memories")
        case "consolidate":
            let r = try store.consolidate(agent: nil, now: Date().timeIntervalSince1970)
            print("expired \(r.expired), merged \(r.merged), folded \(r.folded) into \(r.summaries) summaries")
        default:
            try database.backup(to: operand ?? "")
            print("backed up to \(operand ?? "")")
        }
    }
}

/// `loom _memory-writer NODE COUNT`: remembers COUNT memories one by one, printing each id once its
/// transaction has committed. Hidden: the crash test kills it with SIGKILL at random points.
struct MemoryWriterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_memory-writer", shouldDisplay: false)

    @Argument var node: String
    @Argument var count: Int

    func validate() throws {
        guard count >= 0 else { throw ValidationError("COUNT must be at least 0") }
    }

    func run() throws {
        let store = try SQLiteNodeStore.forNode(node).memory
        for i in 0..<count {
            let id = try store.remember(Memory(agent: "writer", text: "crash test memory number \(i)"))
            FileHandle.standardOutput.write(Data("\(id)\n".utf8))   // unbuffered: written means acknowledged
        }
    }
}
