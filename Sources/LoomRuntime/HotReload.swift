import DequeModule
import Foundation
import Logging
import LoomCore
import LuaKit

/// What one reload did.
public struct ReloadOutcome: Sendable, Equatable {
    /// Agent kinds that now run new code (their behaviour changed, or the skills did).
    public var changed: [String] = []
    public var added: [String] = []
    public var removed: [String] = []
    public var skillsReloaded = false
    /// Active agents now on the new code.
    public var upgraded = 0
    /// Active agents with a call in flight: they upgrade when it finishes.
    public var deferred = 0
    /// Calls stopped by the rule of two versions (see docs/DESIGN.md).
    public var stopped = 0
    /// Why the reload was refused; the old version keeps serving.
    public var error: String?

    public init() {}

    /// Whether the reload found nothing to do.
    public var isEmpty: Bool { changed.isEmpty && added.isEmpty && removed.isEmpty && !skillsReloaded && error == nil }
}

struct ReloadError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Hot reload, under Erlang's rule of two versions:
/// - a reload is all or nothing: node.toml, the lineage, resolution, every changed skill and
///   every changed behaviour must load and initialise, or nothing changes and the old version
///   keeps serving;
/// - a call in flight finishes on the code it started on; new calls take the new code;
/// - an agent whose call in flight still runs the version before the previous one when a newer
///   reload arrives has that call stopped (its asker gets an error), as Erlang purges processes
///   running old code: no agent's code ever lags more than one version, and versions never pile up.
extension NodeEngine {
    func reload() -> ReloadOutcome {
        var outcome = ReloadOutcome()
        do {
            try reload(into: &outcome)
        } catch {
            outcome = ReloadOutcome()
            outcome.error = "\(error)"
            logger.error("reload refused; the old version keeps serving: \(error)")
        }
        return outcome
    }

    private func reload(into outcome: inout ReloadOutcome) throws {
        let plan = try NodePlan(directory: directory, locked: options.locked)
        let lineage = plan.lineage
        guard lineage.root.name == name else {
            throw ReloadError("\(directory)/node.toml renames the node '\(name)' to '\(lineage.root.name)'; restart the node to rename it")
        }
        let resolution = plan.resolution
        for warning in plan.warnings { logger.warning("\(warning)") }
        let fingerprint = Self.fingerprint(resolution)
        let oldModules = modules
        var skillsChanged = false
        if fingerprint != skillFingerprint {
            modules = try loadModules(resolution)
            skillsChanged = true
        }
        var newKinds: [String: AgentManifest] = [:]
        for m in lineage.root.agents { newKinds[m.name] = m }
        // Compile, then initialise in a scratch environment, every behaviour that changed.
        var compiled: [String: (LuaRef, [UInt8])] = [:]
        do {
            for kind in newKinds.keys.sorted() {
                let m = newKinds[kind]!
                let path = Paths.join(m.directory, m.behaviour)
                let source = FileManager.default.contents(atPath: path).map(Array.init)
                if !skillsChanged, let old = kinds[kind], old == m, let source, behaviourSources[kind] == source { continue }
                let c = try compileBehaviour(m)
                _ = try makeEnvironment(AgentSlot(manifest: m, name: kind), chunk: c.0) { env throws(LuaError) in
                    try env.set("state", LuaValue.table(LuaTable()))
                }
                compiled[kind] = c
            }
        } catch {
            modules = oldModules
            throw error
        }
        // Commit.
        self.resolution = resolution
        if skillsChanged {
            skillFingerprint = fingerprint
            outcome.skillsReloaded = true
        }
        for (kind, c) in compiled {
            behaviours[kind] = c.0
            behaviourSources[kind] = c.1
        }
        for kind in kinds.keys.sorted() where newKinds[kind] == nil && extraGlobals[kind] == nil {
            kinds[kind] = nil
            behaviours[kind] = nil
            behaviourSources[kind] = nil
            versions[kind] = nil
            outcome.removed.append(kind)
        }
        for kind in newKinds.keys.sorted() {
            if kinds[kind] == nil {
                if let old = agents[kind] {
                    // Removed by an earlier reload while a call ran, and back before that call
                    // ended: the old call stops now (it is two versions behind), so that one slot
                    // holds the name and the old one's timers and retirement cannot reach the new.
                    stopCall(old, ReplyError(.callStopped, "agent '\(kind)': its kind was removed and added back while this "
                                                 + "call ran, so the call was stopped; ask again"))
                    outcome.stopped += 1
                    retire(old)
                }
                kinds[kind] = newKinds[kind]
                versions[kind] = 1
                let slot = makeSlot(newKinds[kind]!, name: kind)
                agents[kind] = slot
                agentOrder.append(kind)
                outcome.added.append(kind)
            } else if compiled[kind] != nil {
                kinds[kind] = newKinds[kind]
                versions[kind, default: 1] += 1
                outcome.changed.append(kind)
            }
        }
        let removed = Set(outcome.removed)
        let changed = Set(outcome.changed)
        for slotName in agentOrder + agents.keys.filter({ $0.contains(":") }).sorted() {
            guard let slot = agents[slotName] else { continue }
            let kind = slot.manifest.name
            if removed.contains(kind) {
                retire(slot)
                continue
            }
            guard changed.contains(kind), let manifest = kinds[kind] else { continue }
            slot.manifest = manifest
            guard slot.env != nil else { continue }   // dormant: activates on the new code
            switch slot.lifecycle.reloaded(callIsStale: slot.envVersion < versions[kind, default: 1] - 1) {
            case .nothing:
                break
            case .upgradeNow:
                if upgrade(slot) { outcome.upgraded += 1 }
            case .deferred:
                outcome.deferred += 1
            case .stopCallThenUpgrade:
                stopCall(slot, ReplyError(.callStopped, "agent '\(slot.name)': its code was reloaded twice while this call ran, "
                                          + "so the call was stopped (the rule of two versions); ask again"))
                outcome.stopped += 1
                if upgrade(slot) { outcome.upgraded += 1 }
            }
        }
        agentOrder.removeAll { agents[$0] == nil }
        if !outcome.isEmpty {
            logger.info("reloaded: changed \(outcome.changed), added \(outcome.added), removed \(outcome.removed), skills \(outcome.skillsReloaded ? "reloaded" : "unchanged"); \(outcome.upgraded) upgraded, \(outcome.deferred) after their call, \(outcome.stopped) calls stopped")
        }
    }

    /// Moves an active agent to its kind's current code, keeping its state: the new behaviour runs
    /// in a fresh environment with the same `state` table, then `migrate(state, from_version)` when
    /// it defines one (a table it returns becomes the state). `from_version` is the old
    /// behaviour's global `version` when it sets one, else the old code version number. On failure
    /// the agent stays on its old code and the error is logged.
    @discardableResult
    func upgrade(_ slot: AgentSlot) -> Bool {
        guard let old = slot.env else { return false }
        do {
            let state = try old.rawRef("state")
            let declared = try old.rawRef("version")?.value()
            let from: LuaValue = (declared?.integer != nil || declared?.string != nil) ? declared! : .integer(Int64(slot.envVersion))
            let env = try makeEnvironment(slot, chunk: nil) { env throws(LuaError) in
                if let state { try env.set("state", state) } else { try env.set("state", LuaValue.table(LuaTable())) }
            }
            if let migrate = try env.rawRef("migrate"), migrate.type == .function {
                current = slot
                defer { current = nil }
                let result = try migrate.call(try env.rawRef("state") ?? lua.ref(.nil), from, as: LuaValue.self)
                if case .table = result { try env.set("state", result) }
            }
            try install(slot, env)
            slot.dirty = true
            return true
        } catch {
            var log = logger
            log[metadataKey: "agent"] = .string(slot.name)
            log.error("upgrade failed; the agent keeps its old code: \(error)")
            return false
        }
    }

    /// After a call finishes: a pending upgrade or removal happens now.
    func afterCall(_ slot: AgentSlot, _ followUp: AgentLifecycle.FollowUp) {
        switch followUp {
        case .nothing: break
        case .upgrade: upgrade(slot)
        case .retire: retire(slot)
        }
    }

    /// Stops an agent whose kind was removed: at once when idle (state saved), after its call in
    /// flight otherwise. Messages still queued get an error.
    func retire(_ slot: AgentSlot) {
        guard slot.lifecycle.removed() == .retireNow else { return }
        for envelope in slot.mailbox {
            reply(to: envelope, .failure(ReplyError(.removed, "agent '\(slot.name)' was removed from node '\(name)'")))
        }
        slot.mailbox.removeAll()
        if slot.env != nil { passivate(slot, save: true) }
        slot.lifecycle.retired()   // nothing runs it again
        agents[slot.name] = nil
        removeSlot(slot)
    }

    /// Drops an agent's call in flight (suspended in ask, ask_all or sleep); its asker gets `reason`.
    func stopCall(_ slot: AgentSlot, _ reason: ReplyError) {
        pending.removeAll(of: slot.name)
        slot.coroutine = nil
        slot.group = nil
        slot.lifecycle.callStopped()
        if let envelope = slot.runningEnvelope {
            slot.runningEnvelope = nil
            reply(to: envelope, .failure(reason))
        }
        if !slot.mailbox.isEmpty { schedule(slot) }
    }
}
