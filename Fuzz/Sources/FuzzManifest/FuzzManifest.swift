// Fuzz target `manifest`: bytes -> the TOML manifest readers `loom check` runs (node.toml,
// skill.toml, agent.toml, loom.lock), on the text exactly as ManifestReader.read makes it from a
// file's bytes (lossy UTF-8 decoding, so invalid UTF-8 and NUL bytes reach the parsers).
import LoomCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    // The skill's and agent's files: a few names exist, so the "entry does not exist" check runs
    // both ways.
    let exists: (String) -> Bool = { ["init.lua", "agent.lua", "main.lua"].contains($0) }
    var diagnostics: [Diagnostic] = []
    do {
        let node = try NodeManifest.parse(text: text, file: "fuzz/node.toml", directory: "fuzz")
        _ = node.constitution.allowed(for: .foreign)
    } catch { diagnostics += error.diagnostics }
    do {
        let skill = try SkillManifest.parse(text: text, file: "fuzz/skill.toml", directory: "fuzz", fileExists: exists)
        for c in skill.provides + skill.requires + skill.optional {
            _ = skill.providedVersion(of: c)
            _ = c.isSatisfied(by: skill.version)
            _ = c.description
        }
    } catch { diagnostics += error.diagnostics }
    do {
        let agent = try AgentManifest.parse(text: text, file: "fuzz/agent.toml", directory: "fuzz", fileExists: exists)
        _ = agent.uses.map(\.description)
    } catch { diagnostics += error.diagnostics }
    do {
        let lock = try LockFile.parse(text: text, file: "fuzz/loom.lock")
        _ = lock.render()
        _ = lock.differences(to: lock)
    } catch { diagnostics += error.diagnostics }
    // What `loom check` prints.
    for d in diagnostics { _ = d.description }
    return 0
}
