import DequeModule
import Foundation
import Logging
import LoomCore
import LuaKit

/// Loading the resolved skills: each layer once, bottom first, in an environment of its own.
extension NodeEngine {
    /// Loads each resolved skill once, bottom layer first, each in its own environment with the
    /// host capabilities its permissions grant and `super` set to the layer it extends. Returns the
    /// module serving each capability key.
    func loadModules(_ resolution: Resolution) throws -> [String: LuaRef] {
        var loaded: [String: LuaRef] = [:]
        var modules: [String: LuaRef] = [:]
        for key in resolution.bindings.keys.sorted() {
            guard case .skill(let skill) = resolution.bindings[key]!.provider else { continue }
            for (i, layer) in skill.layers.enumerated().reversed() {
                let id = "\(layer.node)/\(layer.name)"
                if loaded[id] != nil { continue }
                let below = i + 1 < skill.layers.count ? loaded["\(skill.layers[i + 1].node)/\(skill.layers[i + 1].name)"] : nil
                loaded[id] = try loadSkill(layer, superModule: below)
            }
            modules[key] = loaded["\(skill.top.node)/\(skill.top.name)"]
        }
        return modules
    }

    static func fingerprint(_ resolution: Resolution) -> String {
        var parts: [String] = []
        for key in resolution.bindings.keys.sorted() {
            guard case .skill(let skill) = resolution.bindings[key]!.provider else { continue }
            for layer in skill.layers {
                let hash = (try? SkillHasher.hash(directory: layer.manifest.directory)) ?? "unreadable"
                parts.append("\(key)=\(layer.node)/\(layer.name)@\(layer.manifest.directory)#\(hash)")
            }
        }
        return parts.joined(separator: "\n")
    }

    func loadSkill(_ layer: SkillLayer, superModule: LuaRef?) throws -> LuaRef {
        let m = layer.manifest
        let env = try lua.newEnvironment()
        // The resolver refused any skill asking for more than the constitution allows its origin,
        // so what it declares is what it gets.
        let granted = Set(m.permissions)
        if granted.contains(.log), let logTable { try env.set("log", logTable) }
        if granted.contains(.clock) {
            try env.set("now", api["now"]!)
            try env.set("sleep", api["sleep"]!)
        }
        if granted.contains(.messaging) {
            for key in ["send", "ask", "ask_all"] { try env.set(key, api[key]!) }
        }
        if granted.contains(.memory), let memory = hostTables["memory@1"] { try env.set("memory", memory) }
        if granted.contains(.fsRead), let fs = hostTables["fs.read@1"] { try env.set("fs", fs) }
        if let superModule { try env.set("super", superModule) }
        let allowed = Set((m.requires + m.optional).map(\.key))
        try env.set("use", try hostFunction("use") { [unowned self] call in
            let key = try call.string(1)
            guard let ref = try? CapabilityRef(key), allowed.contains(ref.key) else {
                throw LuaError(kind: .runtime, message: "use: skill '\(m.name)' does not declare \(key) in skill.toml requires")
            }
            return try call.results(try self.module(ref.key))
        })
        let path = Paths.join(m.directory, m.entry)
        let chunk = try lua.loadFile(path, environment: .table(env))
        let module = try chunk.callRef()
        guard module.type == .table else {
            throw LuaError(kind: .runtime, message: "skill '\(m.name)' must return a table of functions from \(m.entry)", chunk: path)
        }
        return module
    }
}
