import DequeModule
import Foundation
import Logging
package import LoomCore
package import LuaKit

/// Agents' slots and environments: compiling behaviours, activation and passivation.
extension NodeEngine {
    /// Compiles a behaviour: one chunk per agent kind, taking the environment as its argument.
    func compileBehaviour(_ m: AgentManifest) throws(LuaError) -> (LuaRef, [UInt8]) {
        let path = Paths.join(m.directory, m.behaviour)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LuaError(kind: .runtime, message: "cannot read the behaviour \(path)", chunk: path)
        }
        let source = Array(data)
        return (try lua.load(bytes: Array("local _ENV = ...; ".utf8) + source, name: path), source)
    }

    /// A fresh agent environment with the host API and `self`, its behaviour run in it to define
    /// the handlers. `state` is set before the behaviour runs.
    func makeEnvironment(_ slot: AgentSlot, chunk: LuaRef? = nil, state: (LuaRef) throws(LuaError) -> Void) throws(LuaError) -> LuaRef {
        let m = slot.manifest
        if chunk == nil && behaviours[m.name] == nil {
            let (chunk, source) = try compileBehaviour(m)
            behaviours[m.name] = chunk
            behaviourSources[m.name] = source
        }
        let env = try lua.newEnvironment()
        for key in ["send", "ask", "ask_all", "sleep", "now", "use"] { try env.set(key, api[key]!) }
        if let logTable { try env.set("log", logTable) }
        for (key, value) in extraGlobals[m.name] ?? [:] { try env.set(key, value) }
        try env.set("self", try lua.ref(["name": .string(LuaString(slot.name)), "kind": .string(LuaString(m.name)),
                                         "domain": .string(LuaString(m.domain)), "node": .string(LuaString(name))]))
        try state(env)
        let previous = current
        current = slot
        defer { current = previous }
        _ = try (chunk ?? behaviours[m.name]!).call(env, as: LuaValue.self)
        return env
    }

    func install(_ slot: AgentSlot, _ env: LuaRef) throws(LuaError) {
        try slot.install(env, version: versions[slot.manifest.name] ?? 1)
    }

    /// Makes a dormant agent active: a fresh environment with the host API, its persisted state, and
    /// its behaviour run once to define the handlers. Skill code is not reloaded.
    func activate(_ slot: AgentSlot) throws(LuaError) {
        var state = LuaValue.table(LuaTable())
        if let bytes = try? store.loadState(agent: slot.name) {
            do { state = try StateCodec.decode(bytes) } catch {
                throw LuaError(kind: .runtime, message: "agent '\(slot.name)': stored state is unreadable: \(error)")
            }
        }
        let env = try makeEnvironment(slot) { env throws(LuaError) in try env.set("state", state) }
        try install(slot, env)
        slot.lifecycle.activated()
        slot.lastActive = clock.now
        current = slot
        defer { current = nil }
        if let start = try env.rawRef("on_start") { try start.call() }
    }

    /// Adds an agent whose behaviour is `source` (not a folder): the test runner.
    package func addAgent(_ manifest: AgentManifest, source: [UInt8], chunkName: String, globals: [String: LuaRef] = [:]) throws(LuaError) {
        behaviours[manifest.name] = try lua.load(bytes: Array("local _ENV = ...; ".utf8) + source, name: chunkName)
        behaviourSources[manifest.name] = source
        kinds[manifest.name] = manifest
        versions[manifest.name] = 1
        extraGlobals[manifest.name] = globals
        if agents[manifest.name] == nil {
            agents[manifest.name] = makeSlot(manifest, name: manifest.name)
            agentOrder.append(manifest.name)
        }
    }

    /// Activates instance `name` (created if needed) without a message: for measurements.
    package func activateForBenchmark(_ name: String) throws {
        guard let slot = agents[name] ?? instance(name) else { throw ReplyError(.noAgent, "no agent '\(name)'") }
        if slot.env == nil { try activate(slot) }
    }

    /// Releases an agent's environment; `save` persists its state first.
    func passivate(_ slot: AgentSlot, save: Bool) {
        if save { flush([slot]) }
        slot.releaseEnvironment()
        slot.lifecycle.passivated()
    }

    /// The slot of instance `kind:id`, created dormant when the kind exists.
    func instance(_ name: String) -> AgentSlot? {
        guard let colon = name.firstIndex(of: ":"), let kind = kinds[String(name[..<colon])],
              name.index(after: colon) < name.endIndex else { return nil }
        let slot = makeSlot(kind, name: name)
        agents[name] = slot
        return slot
    }

    /// A new slot with the next number, named in the mail so that agents' sends reach it there.
    func makeSlot(_ manifest: AgentManifest, name: String) -> AgentSlot {
        let slot = AgentSlot(manifest: manifest, name: name, id: Int32(slotsByID.count), mail: mail)
        slotsByID.append(slot)
        // Without its name in the mail (no memory for it), sends take the host's path.
        try? mail.register(slot.id, name: name)
        return slot
    }

    /// Takes a slot out of the mail: sends to its name take the host's path (and fail there).
    func removeSlot(_ slot: AgentSlot) {
        guard slot.id > 0 else { return }
        mail.unregister(slot.id, name: slot.name)
        if Int(slot.id) < slotsByID.count { slotsByID[Int(slot.id)] = nil }
    }
}
