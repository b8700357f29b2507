import ArgumentParser
import Foundation
import LoomCore
import LuaKit

/// `loom check [PATH]`: every manifest validated, every Lua file compiled (not run).
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate every manifest under PATH and compile every Lua file without running it; resolve PATH if it is a node.",
        discussion: """
            Prints every problem as file:line:col: error: message, and exits 1 if there is any. When PATH is             a node's folder and its manifests are valid, the node is also opened as `loom run` opens it             (lineage, loom.lock, resolution), so that a capability no skill provides, or one this version             of Loom does not implement, is reported here.
            """
    )

    @Argument(help: "A folder or a file (default: the current folder).")
    var path: String = "."

    func run() throws {
        guard FileManager.default.fileExists(atPath: path) else {
            printError("error: \(path): no such file or folder")
            throw ExitCode(2)
        }
        var (diagnostics, lua, manifests) = Self.check(path: path)
        if diagnostics.isEmpty { diagnostics = Self.resolve(node: path) }
        for d in diagnostics { printError(d.description) }
        if diagnostics.isEmpty {
            print("ok: \(manifests) manifest(s) and \(lua) Lua file(s) under \(path)")
        } else {
            printError("\(diagnostics.count) problem(s)")
            throw ExitCode(1)
        }
    }

    /// The problems under `path`, and how many Lua files and manifests were looked at.
    static func check(path: String) -> ([Diagnostic], Int, Int) {
        var luaFiles = 0
        let lua = try? LuaState(limits: LuaLimits(timeout: .seconds(5), memory: 256 << 20))
        let checker = ManifestChecker()
        let manifests = checker.files(under: path).filter {
            ["skill.toml", "agent.toml", "node.toml", LockFile.fileName].contains(Paths.name($0))
        }.count
        let diagnostics = checker.check(path: path) { file in
            luaFiles += 1
            guard let lua else { return Diagnostic(file: file, message: "cannot create a Lua state to compile it") }
            do {
                _ = try lua.loadFile(file)
                return nil
            } catch let error as LuaError {
                return Diagnostic(file: file, line: error.line, column: error.line == nil ? nil : 1, message: error.message,
                                  hint: error.kind == .syntax ? "fix the Lua syntax" : nil)
            } catch {
                return Diagnostic(file: file, message: "\(error)")
            }
        }
        return (diagnostics, luaFiles, manifests)
    }

    /// The resolution problems of the node in `path` (none when `path` is not a node folder), each
    /// at the manifest that causes it.
    static func resolve(node path: String) -> [Diagnostic] {
        let nodeFile = Paths.join(path, "node.toml")
        guard FileManager.default.fileExists(atPath: nodeFile) else { return [] }
        do {
            let plan = try NodePlan(directory: path)
            for warning in plan.warnings { printError("warning: \(warning)") }
            return []
        } catch {
            switch error.reason {
            case .resolution(let e, _):
                return e.failures.map { Diagnostic(file: $0.file ?? nodeFile, message: $0.message) }
            case .lockFile(let e):
                return e.diagnostics
            default:
                return [Diagnostic(file: nodeFile, message: error.description)]
            }
        }
    }
}
