import Foundation

/// A temporary folder filled from a path -> contents map, removed on deinit.
final class TempTree {
    let root: String

    init(_ files: [String: String]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-core-\(UUID().uuidString)").path
        try write(files)
    }

    func write(_ files: [String: String]) throws {
        for (path, contents) in files {
            let full = (root as NSString).appendingPathComponent(path)
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
    }

    func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}

/// Files for a skill folder: skill.toml and init.lua.
func skill(_ dir: String, _ toml: String) -> [String: String] {
    ["\(dir)/skill.toml": toml, "\(dir)/init.lua": "return {}\n"]
}

func node(_ dir: String, _ toml: String) -> [String: String] {
    ["\(dir)/node.toml": toml]
}

func agent(_ dir: String, uses: [String]) -> [String: String] {
    let list = uses.map { "\"\($0)\"" }.joined(separator: ", ")
    return ["\(dir)/agent.toml": "name = \"\((dir as NSString).lastPathComponent)\"\nuses = [\(list)]\n",
            "\(dir)/agent.lua": "function on_task(task) return task end\n"]
}

func merge(_ parts: [String: String]...) -> [String: String] {
    parts.reduce(into: [:]) { $0.merge($1) { _, b in b } }
}
