import Foundation
import LoomTesting

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
