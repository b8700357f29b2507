import Foundation

/// `loom check`: validates every manifest under a folder, and compiles every Lua file with the
/// compiler the caller supplies (LoomCore knows no Lua).
public struct ManifestChecker: Sendable {
    /// Folders never entered.
    static let skipped: Set<String> = [".build", ".git", ".loom", ".swiftpm", "node_modules"]

    /// A checker; it holds no state, and each call reads the disk afresh.
    public init() {}

    /// The names of the files this checker validates.
    static let manifestNames: Set<String> = ["skill.toml", "agent.toml", "node.toml", LockFile.fileName]

    /// Every problem under `path` (a folder or a single file), in file order.
    ///
    /// Each skill.toml, agent.toml, node.toml and loom.lock is read by its own loader, alone: no
    /// lineage is built and nothing is resolved. A missing `path` gives no diagnostics.
    /// - Parameter compile: called with the path of each `.lua` file; returns its compile error, or
    ///   nil. Without it, Lua files are not looked at.
    ///
    /// ```swift
    /// for d in ManifestChecker().check(path: "Examples") { print(d) }   // file:line:col: error: ...
    /// ```
    public func check(path: String, compile: ((String) -> Diagnostic?)? = nil) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for file in files(under: path) {
            let name = Paths.name(file)
            let dir = Paths.parent(file)
            do {
                switch name {
                case "skill.toml": _ = try SkillManifest.load(directory: dir)
                case "agent.toml": _ = try AgentManifest.load(directory: dir)
                case "node.toml": _ = try NodeManifest.load(directory: dir)
                case LockFile.fileName: _ = try LockFile.load(file: file)
                default:
                    if name.hasSuffix(".lua"), let compile, let d = compile(file) { diagnostics.append(d) }
                }
            } catch {
                diagnostics += error.diagnostics
            }
        }
        return diagnostics
    }

    /// Every file under `path` (or `path` itself), sorted, skipping build and VCS folders. A folder
    /// named like a manifest (node.toml/) is listed too, so that checking it says it is a folder.
    public func files(under path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        var out: [String] = []
        var stack = [path]
        while let dir = stack.popLast() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted().reversed() where !Self.skipped.contains(name) {
                let full = Paths.join(dir, name)
                var sub: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &sub), sub.boolValue {
                    if Self.manifestNames.contains(name) { out.append(full) } else { stack.append(full) }
                } else {
                    out.append(full)
                }
            }
        }
        return out.sorted()
    }
}
