import DequeModule
import Foundation
import Logging
import LoomCore
import LoomMemory
package import LuaKit

/// The synchronous heart of a node: its VM, skills, agents, mailboxes, scheduler and timers.
///
/// Owned by one ``Node`` actor and only ever used on it; the host functions it gives to Lua call
/// back into it synchronously during a resume. Nothing here awaits.
package final class NodeEngine {
    let name: String
    let directory: String
    let options: NodeOptions
    package let lua: LuaState
    let store: any NodeStore
    var logger: Logger
    var resolution: Resolution
    /// What the loaded skills were built from: capability keys, layers and their content hashes.
    /// A reload loads skills again only when this changes.
    var skillFingerprint = ""
    /// Each agent kind's behaviour source and code version (1 at the first load, +1 per reload
    /// that changes the kind's behaviour or the skills).
    var behaviourSources: [String: [UInt8]] = [:]
    var versions: [String: Int] = [:]
    let clock = ContinuousClock()

    /// Capability key -> the module of the skill serving it (its top layer).
    var modules: [String: LuaRef] = [:]
    /// Host capability tables by key (log@1, clock@1, messaging@1).
    var hostTables: [String: LuaRef] = [:]
    package var agents: [String: AgentSlot] = [:]
    var agentOrder: [String] = []
    /// Agent kinds by name: `kind` addresses the kind's own instance, `kind:id` another instance of
    /// it, created on its first message (virtual actors).
    var kinds: [String: AgentManifest] = [:]

    // Scheduling
    private var runQueue: [AgentSlot] = []
    private var runHead = 0
    private var timers = TimerHeap<Timer.Action>()
    private var nextRequest: UInt64 = 1
    var pending: [UInt64: PendingAsk] = [:]
    /// Messages for other nodes, delivered by the actor after each step.
    var outbound: [Envelope] = []
    /// The agent whose handler runs now (host functions act for it).
    /// The agent whose code runs now. Kept in the mail (C) so that `send` knows its sender
    /// without asking Swift; slots without a number (trial runs during a reload) are kept here.
    var current: AgentSlot? {
        get {
            let id = Int(mail.current)
            return id > 0 ? (id < slotsByID.count ? slotsByID[id] : nil) : unnumberedCurrent
        }
        set {
            mail.current = newValue?.id ?? 0
            unnumberedCurrent = newValue?.id == 0 ? newValue : nil
        }
    }
    private var unnumberedCurrent: AgentSlot?
    /// Messages between this node's agents, kept in the VM (see `LuaMail`).
    let mail: LuaMail
    /// Slots by number (index 0 unused; removed slots leave nil).
    private(set) var slotsByID: [AgentSlot?] = [nil]

    // Shared host functions
    private var api: [String: LuaRef] = [:]
    /// Compiled behaviours by agent kind.
    var behaviours: [String: LuaRef] = [:]
    /// Finished coroutines kept for reuse.
    var coroutinePool: [LuaCoroutine] = []
    private var logTable: LuaRef?

    struct Timer {
        enum Action {
            case askTimeout(UInt64)
            case wake(String)
            case retry(String)
        }
        var deadline: ContinuousClock.Instant
        var action: Action
    }

    enum PendingAsk {
        /// An agent of this node waits in `ask`.
        case agent(String)
        /// An agent waits in `ask_all`: the group it belongs to and its position.
        case group(String, Int)
        /// Host code waits (Node.ask).
        case external(CheckedContinuation<LuaValue, any Error>)
    }

    init(lineage: Lineage, resolution: Resolution, options: NodeOptions, store: any NodeStore, logger: Logger) throws {
        let root = lineage.root
        name = root.name
        directory = root.manifest.directory
        self.options = options
        self.resolution = resolution
        self.store = store
        self.logger = logger
        self.logger[metadataKey: "node"] = .string(root.name)
        lua = try LuaState(limits: options.limits)
        mail = try LuaMail(lua, node: root.name, capacity: options.mailboxCapacity)
        try makeHostAPI()
        modules = try loadModules(resolution)
        skillFingerprint = Self.fingerprint(resolution)
        let statuses = (try? store.statuses()) ?? [:]
        for manifest in root.agents {
            kinds[manifest.name] = manifest
            versions[manifest.name] = 1
            // What a reload compares against (compiled on first activation).
            behaviourSources[manifest.name] = FileManager.default.contents(
                atPath: Paths.join(manifest.directory, manifest.behaviour)).map(Array.init)
            let slot = makeSlot(manifest, name: manifest.name)
            if statuses[manifest.name] == "failed" { slot.state = .failed }
            agents[manifest.name] = slot
            agentOrder.append(manifest.name)
        }
    }

    // MARK: Host API

    /// The names of every host function this node made (`send`, `memory.recall`, ...), for the
    /// check that ``HostAPI`` documents each one.
    private(set) var hostFunctionNames: Set<String> = ["ask", "ask_all", "sleep"]

    /// Makes a host function, noting its name.
    func hostFunction(_ name: String, _ body: @escaping LuaState.HostFunction) throws(LuaError) -> LuaRef {
        hostFunctionNames.insert(name)
        return try lua.function(name, body)
    }

    private func makeHostAPI() throws {
        let prelude = try lua.load("""
            local yield = coroutine.yield
            local api = {}
            function api.ask(to, task, opts) return yield("loom.ask", to, task, opts) end
            function api.ask_all(requests, opts) return yield("loom.ask_all", requests, opts) end
            function api.sleep(seconds) return yield("loom.sleep", seconds) end
            return api
            """, name: "loom/prelude.lua", environment: .globals)
        let table = try prelude.callRef()
        for key in ["ask", "ask_all", "sleep"] { api[key] = try table.rawRef(key) }

        // `send` is the mail's C function; it hands anything that is not a message between two of
        // this node's agents (another node, `$host`, a dormant instance not made yet, a stopped
        // agent) to this host function.
        let hostSend = try hostFunction("send") { [unowned self] call in
            let to = try call.string(1)
            let message = try call.value(2)
            switch self.enqueue(Envelope(from: self.currentAddress, to: try self.address(to), kind: .send, payload: message)) {
            case .success: return try call.results(true)
            case .failure(let e): return try call.results(LuaValue.nil, e.message)
            }
        }
        api["send"] = try mail.sendFunction(fallback: hostSend)
        api["now"] = try hostFunction("now") { call in
            try call.results(Date().timeIntervalSince1970)
        }
        api["use"] = try hostFunction("use") { [unowned self] call in
            let key = try call.string(1)
            guard let agent = self.current else { throw LuaError(kind: .runtime, message: "use: no agent is running") }
            guard let ref = try? CapabilityRef(key), agent.manifest.uses.contains(where: { $0.key == ref.key }) else {
                throw LuaError(kind: .runtime, message: "use: agent '\(agent.name)' does not declare \(key) in agent.toml uses")
            }
            return try call.results(try self.module(ref.key))
        }
        let log = try lua.ref(.table(LuaTable()))
        for level in ["info", "warn", "error"] {
            try log.set(level, try hostFunction("log.\(level)") { [unowned self] call in
                var parts: [String] = []
                for i in 1...max(1, call.argumentCount) where i <= call.argumentCount {
                    parts.append((try? call.value(i))?.description ?? "?")
                }
                var logger = self.logger
                if let agent = self.current { logger[metadataKey: "agent"] = .string(agent.name) }
                let message = Logger.Message(stringLiteral: parts.joined(separator: " "))
                switch level {
                case "warn": logger.warning(message)
                case "error": logger.error(message)
                default: logger.info(message)
                }
                return call.results()
            })
        }
        logTable = try lua.readOnly(log)
        hostTables["log@1"] = logTable
        let clockTable = try lua.ref(.table(LuaTable()))
        try clockTable.set("now", api["now"]!)
        try clockTable.set("sleep", api["sleep"]!)
        hostTables["clock@1"] = try lua.readOnly(clockTable)
        let messaging = try lua.ref(.table(LuaTable()))
        for key in ["send", "ask", "ask_all"] { try messaging.set(key, api[key]!) }
        hostTables["messaging@1"] = try lua.readOnly(messaging)
        if let memory = store.memoryStore() { hostTables["memory@1"] = try makeMemoryTable(memory) }
        hostTables["fs.read@1"] = try makeFileTable(try FileAccess(roots: options.fileRoots, limits: options.fileLimits))
    }

    /// The module or host table serving `key`.
    func module(_ key: String) throws(LuaError) -> LuaRef {
        if let m = modules[key] ?? hostTables[key] { return m }
        throw LuaError(kind: .runtime, message: "use: \(key) is not available on node '\(name)' in this version of Loom")
    }

    var currentAddress: Address { Address(node: name, agent: current?.name ?? "$host") }

    func address(_ text: String) throws(LuaError) -> Address {
        guard let a = Address(text, localNode: name) else {
            throw LuaError(kind: .runtime, message: "'\(text)' is not an address (agent or node/agent)")
        }
        return a
    }

    // MARK: Skills

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

    private func loadSkill(_ layer: SkillLayer, superModule: LuaRef?) throws -> LuaRef {
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

    // MARK: Agents

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
        slot.env = env
        slot.envVersion = versions[slot.manifest.name] ?? 1
        slot.onTask = try env.rawRef("on_task").flatMap { $0.type == .function ? $0 : nil }
        slot.onMessage = try env.rawRef("on_message").flatMap { $0.type == .function ? $0 : nil }
    }

    /// Makes a dormant agent active: a fresh environment with the host API, its persisted state, and
    /// its behaviour run once to define the handlers. Skill code is not reloaded.
    private func activate(_ slot: AgentSlot) throws(LuaError) {
        var state = LuaValue.table(LuaTable())
        if let bytes = try? store.loadState(agent: slot.name) {
            do { state = try StateCodec.decode(bytes) } catch {
                throw LuaError(kind: .runtime, message: "agent '\(slot.name)': stored state is unreadable: \(error)")
            }
        }
        let env = try makeEnvironment(slot) { env throws(LuaError) in try env.set("state", state) }
        try install(slot, env)
        slot.state = .active
        slot.lastActive = clock.now
        current = slot
        defer { current = nil }
        if let start = try env.rawRef("on_start") { try start.call() }
    }

    /// Extra globals for agents made by the host (the test runner's traceback function).
    var extraGlobals: [String: [String: LuaRef]] = [:]

    /// Adds an agent whose behaviour is `source` (not a folder): the test runner.
    func addAgent(_ manifest: AgentManifest, source: [UInt8], chunkName: String, globals: [String: LuaRef] = [:]) throws(LuaError) {
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
        guard let slot = agents[name] ?? instance(name) else { throw ReplyError("no agent '\(name)'") }
        if slot.env == nil { try activate(slot) }
    }

    /// Releases an agent's environment; `save` persists its state first.
    func passivate(_ slot: AgentSlot, save: Bool) {
        if save { flush([slot]) }
        slot.env = nil
        slot.onTask = nil
        slot.onMessage = nil
        slot.running = nil
        if slot.state == .active { slot.state = .dormant }
    }

    // MARK: Messages

    package enum Enqueued {
        case success
        case failure(ReplyError)
    }

    /// Puts an envelope in a local mailbox (or the outbound list for another node).
    package func enqueue(_ envelope: Envelope) -> Enqueued {
        if envelope.to.node != name {
            outbound.append(envelope)
            return .success
        }
        if case .reply(let id, let result) = envelope.kind {
            deliverReply(id: id, result: result)
            return .success
        }
        if envelope.to.agent == "$host" {
            guard let inbox = options.hostInbox, case .send = envelope.kind else {
                return .failure(ReplyError("no host program listens on '$host' of node '\(name)'; only send reaches it"))
            }
            inbox(envelope.from.agent, envelope.payload)
            return .success
        }
        guard let slot = agents[envelope.to.agent] ?? instance(envelope.to.agent) else {
            return .failure(ReplyError("no agent '\(envelope.to.agent)' on node '\(name)'"))
        }
        if slot.state == .failed {
            return .failure(ReplyError("agent '\(slot.name)' has failed and is stopped"))
        }
        // What the mail holds for the slot arrived first: it goes ahead (or nothing does).
        divertQueued(slot)
        if slot.id > 0 && mail.queued(slot.id) > 0 {
            return .failure(ReplyError("earlier messages to '\(slot.name)' could not be moved (out of memory); try again"))
        }
        guard slot.mailbox.count < options.mailboxCapacity else {
            return .failure(ReplyError("mailbox of '\(envelope.to)' is full (\(options.mailboxCapacity) messages)"))
        }
        slot.mailbox.append(envelope)
        schedule(slot)
        return .success
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

    /// Whether delivery from the mail may run the slot's `on_message` now, telling the mail so:
    /// active, idle, not backing off or being upgraded, nothing older waiting on the host's side.
    @discardableResult
    func refreshReady(_ slot: AgentSlot) -> Bool {
        let ready = slot.canStartMessage && slot.mailbox.isEmpty && slot.onMessage != nil
        mail.setFlags(slot.id, open: slot.isOpen, readyWith: ready ? slot.onMessage : nil)
        return ready
    }

    /// An ask from host code.
    func askFromHost(_ agent: String, _ task: LuaValue, timeout: Duration, continuation: CheckedContinuation<LuaValue, any Error>) {
        let id = newRequest()
        pending[id] = .external(continuation)
        let to = Address(agent, localNode: name) ?? Address(node: name, agent: agent)
        if case .failure(let e) = enqueue(Envelope(from: Address(node: name, agent: "$host"), to: to, kind: .ask(id: id), payload: task)) {
            pending[id] = nil
            continuation.resume(throwing: e)
            return
        }
        addTimer(Timer(deadline: clock.now + timeout, action: .askTimeout(id)))
    }

    private func newRequest() -> UInt64 {
        defer { nextRequest += 1 }
        return nextRequest
    }

    /// A reply (or a failure) for request `id` reaches whoever waits for it.
    func deliverReply(id: UInt64, result: Result<LuaValueBox, ReplyError>) {
        guard let waiter = pending.removeValue(forKey: id) else { return }   // timed out already
        switch waiter {
        case .external(let c):
            switch result {
            case .success(let v): c.resume(returning: v.value)
            case .failure(let e): c.resume(throwing: e)
            }
        case .agent(let name):
            guard let slot = agents[name] else { return }
            switch result {
            case .success(let v): wake(slot, with: [v.value])
            case .failure(let e): wake(slot, with: [.nil, .string(LuaString(e.message))])
            }
        case .group(let name, let index):
            guard let slot = agents[name], var group = slot.group else { return }
            switch result {
            case .success(let v): group.results[index + 1] = ["ok": true, "value": v.value]
            case .failure(let e): group.results[index + 1] = ["ok": false, "error": .string(LuaString(e.message))]
            }
            group.remaining -= 1
            slot.group = group
            if group.remaining == 0 {
                for id in group.ids { pending[id] = nil }
                slot.group = nil
                wake(slot, with: [.table(group.results)])
            }
        }
    }

    private func wake(_ slot: AgentSlot, with values: [LuaValue]) {
        slot.resumeWith = values
        slot.waiting = false
        slot.awaitsOtherNode = false
        schedule(slot)
    }

    func schedule(_ slot: AgentSlot) {
        guard !slot.queued else { return }
        slot.queued = true
        runQueue.append(slot)
    }

    // MARK: Timers

    private func addTimer(_ timer: Timer) {
        timers.insert(timer.deadline, timer.action)
    }

    var nextDeadline: ContinuousClock.Instant? { timers.first?.deadline }

    func fireTimers() {
        let now = clock.now
        while let t = timers.first, t.deadline <= now {
            _ = timers.popFirst()
            switch t.action {
            case .askTimeout(let id):
                if pending[id] != nil { deliverReply(id: id, result: .failure(ReplyError("timeout"))) }
            case .wake(let name):
                if let slot = agents[name], slot.waiting { wake(slot, with: []) }
            case .retry(let name):
                if let slot = agents[name] {
                    slot.backoffUntil = nil
                    if !slot.mailbox.isEmpty { schedule(slot) }
                }
            }
        }
    }

    // MARK: The scheduler

    package var hasWork: Bool { runHead < runQueue.count || mail.pending > 0 }

    /// What a graceful shutdown waits for: messages queued anywhere in the node (the mail, host
    /// mailboxes), and handlers part-way through (a sleep, an ask). A stopped agent's are not
    /// waited for: nothing will run them.
    var unfinished: Int {
        agents.values.reduce(mail.pending) { sum, slot in
            slot.state == .failed ? sum : sum + slot.mailbox.count + (slot.running == nil ? 0 : 1)
        }
    }

    /// Whether anything can still happen in this node before `deadline`: work is queued that can
    /// run, a timer is due by then (a sleep ends, an ask times out, a restart's backoff passes), or
    /// a handler waits on a reply from another node (which may come at any time). When none of
    /// these holds, nothing that waits now can finish by the deadline: a handler asleep past it
    /// (and the messages queued behind it), an ask to such a handler whose timeout is later still.
    func canFinishSomething(before deadline: ContinuousClock.Instant) -> Bool {
        if hasWork || mail.pending > 0 || !outbound.isEmpty { return true }
        if let next = nextDeadline, next <= deadline { return true }
        return agents.values.contains { $0.running != nil && $0.awaitsOtherNode }
    }

    /// What is unfinished, for the shutdown's warning: the agents with the most waiting, at most five.
    var unfinishedSummary: String {
        var parts: [(name: String, waiting: Int, partWay: Bool, state: String)] = []
        for slot in agents.values where slot.state != .failed {
            let waiting = slot.mailbox.count + mail.queued(slot.id)
            if waiting > 0 || slot.running != nil {
                parts.append((slot.name, waiting, slot.running != nil, slot.state.rawValue))
            }
        }
        parts.sort { $0.waiting > $1.waiting }
        let shown = parts.prefix(5).map { p in
            "'\(p.name)' (\(p.state)): \(p.waiting) queued" + (p.partWay ? ", a handler part-way" : "")
        }
        return shown.joined(separator: ", ") + (parts.count > 5 ? ", and \(parts.count - 5) more agents" : "")
    }

    /// Runs up to `budget` handler steps, one per agent in turn (round robin). Returns how many ran.
    @discardableResult
    package func step(budget: Int) -> Int {
        fireTimers()
        var done = mail.pending > 0 ? deliverMail(budget: budget) : 0
        while done < budget && runHead < runQueue.count {
            if options.batchDelivery, let n = runBatch(limit: min(256, budget - done)) {
                done += n
                continue
            }
            let slot = runQueue[runHead]
            runHead += 1
            if runHead > 4096 && runHead * 2 > runQueue.count {
                runQueue.removeFirst(runHead)
                runHead = 0
            }
            slot.queued = false
            if runOne(slot) { done += 1 }
            if slot.running == nil && (slot.retiring || slot.upgradePending) { afterCall(slot) }
            if slot.isRunnable { schedule(slot) }
        }
        if runHead == runQueue.count {
            runQueue.removeAll(keepingCapacity: true)
            runHead = 0
        }
        return done
    }

    // MARK: The mail

    /// Runs handlers for the messages in the mail, in order, up to `budget`. A message whose
    /// receiver is not ready goes to the receiver's host mailbox (behind what already waits
    /// there); a handler that yields or fails continues on the host's usual path.
    private func deliverMail(budget: Int) -> Int {
        var done = 0
        loop: while done < budget && mail.pending > 0 {
            let (delivered, outcome) = mail.deliver(max: budget - done)
            done += delivered
            switch outcome {
            case .idle:
                break loop
            case .divert(let id):
                guard Int(id) < slotsByID.count, let slot = slotsByID[Int(id)] else {
                    // Removed from the node after these were sent: they go, as its mailbox did.
                    let (dropped, error) = mail.take(id)
                    logger.warning("\(dropped.count) message(s) to a removed agent dropped")
                    if error != nil { break loop }
                    continue
                }
                if refreshReady(slot) { continue }
                // Nothing taken (the VM is out of memory): stop here rather than spin.
                guard divertQueued(slot) else { break loop }
            case .stopped(let id, let coroutine, let stop):
                guard Int(id) < slotsByID.count, let slot = slotsByID[Int(id)] else {
                    // No handler was running: the dispatcher itself could not go on (memory).
                    if case .failed(let error) = stop { logger.error("message delivery stopped: \(error)") }
                    break loop
                }
                continueStopped(slot, coroutine, stop, envelope: Envelope(
                    from: Address(node: name, agent: "$mail"), to: Address(node: name, agent: slot.name), kind: .send, payload: .nil))
            }
        }
        let now = clock.now
        let slots = slotsByID   // a local: no exclusivity check per element
        for id in mail.touched() {
            guard Int(id) < slots.count, let slot = slots[Int(id)] else { continue }
            slot.dirty = true
            slot.lastActive = now
        }
        return done
    }

    /// A handler run from C (the mail or a batch) yielded or failed: its coroutine and message
    /// become the slot's call in flight, and the usual path takes over.
    private func continueStopped(_ slot: AgentSlot, _ coroutine: LuaCoroutine?, _ stop: LuaState.BatchStop, envelope: Envelope) {
        slot.lastActive = clock.now
        slot.running = coroutine
        slot.runningEnvelope = envelope
        current = slot
        switch stop {
        case .yielded(let values): handleYield(slot, values)
        case .failed(let error): handlerFailed(slot, error)
        }
        current = nil
        if slot.running == nil && (slot.retiring || slot.upgradePending) { afterCall(slot) }
        if slot.isRunnable { schedule(slot) }
    }

    /// Moves every message the mail holds for `slot` to the end of its host mailbox, in order:
    /// before anything else is queued there (so a sender's send and then ask keep their order),
    /// and when the slot is not ready for the mail.
    /// Returns false when nothing could be taken although the mail holds messages for the slot.
    @discardableResult
    func divertQueued(_ slot: AgentSlot) -> Bool {
        guard slot.id > 0, mail.queued(slot.id) > 0 else { return true }
        let (taken, error) = mail.take(slot.id)
        if let error { logger.error("messages to '\(slot.name)' wait in the mail: \(error)") }
        guard slot.state != .failed else {
            if !taken.isEmpty { logger.warning("\(taken.count) message(s) to stopped agent '\(slot.name)' dropped") }
            return error == nil || !taken.isEmpty
        }
        let to = Address(node: name, agent: slot.name)
        for m in taken {
            slot.mailbox.append(Envelope(from: Address(node: name, agent: m.from ?? "$unknown"), to: to, kind: .send, payload: m.payload))
        }
        if !taken.isEmpty { schedule(slot) }
        return error == nil || !taken.isEmpty
    }

    // MARK: Batched delivery

    private var batchSlots: [AgentSlot] = []
    private var batchHandlers: [LuaRef] = []
    private var batchCoroutines: [LuaCoroutine] = []
    private var batchArguments = LuaValueList()
    /// Messages delivered through batches so far (for tests and measurements).
    private(set) var batchedMessages = 0

    /// Delivers the sends at the head of the run queue in one batch: the payloads built in one
    /// protected call and the handlers resumed one after another in C, each as its own entry under
    /// the deadline, with `current` set before each. A handler that yields or fails stops the
    /// batch there and takes the usual path; the agents after it are queued again. Nil when fewer
    /// than two agents at the head are ready (the one-message path is used then).
    private func runBatch(limit: Int) -> Int? {
        // Locals rather than the engine's fields inside the loops: no exclusivity check per access.
        // The arrays keep their capacity from batch to batch.
        var slots = batchSlots, handlers = batchHandlers, coroutines = batchCoroutines, arguments = batchArguments
        batchSlots = []; batchHandlers = []; batchCoroutines = []; batchArguments = LuaValueList()
        slots.removeAll(keepingCapacity: true)
        handlers.removeAll(keepingCapacity: true)
        coroutines.removeAll(keepingCapacity: true)
        arguments.removeAll()
        defer {
            batchSlots = slots; batchHandlers = handlers; batchCoroutines = coroutines; batchArguments = arguments
        }
        let queue = runQueue
        var end = runHead
        while end < queue.count && slots.count < limit {
            let slot = queue[end]
            guard slot.canStartMessage, let handler = slot.onMessage,
                  let envelope = slot.mailbox.first, case .send = envelope.kind else { break }
            do { try arguments.append(envelope.payload) } catch { break }
            arguments.append(string: envelope.from.node == name ? envelope.from.agent : envelope.from.description)
            slots.append(slot)
            handlers.append(handler)
            end += 1
        }
        guard slots.count >= 2 else { return nil }
        for slot in slots {
            if let pooled = coroutinePool.popLast() { coroutines.append(pooled); continue }
            guard let fresh = try? lua.coroutine(slot.onMessage!) else {
                coroutinePool.append(contentsOf: coroutines)
                return nil
            }
            fresh.isFinishedForBatch()
            coroutines.append(fresh)
        }
        let outcome: (completed: Int, stop: LuaState.BatchStop?)
        do {
            let running = slots
            outcome = try lua.runBatch(handlers: handlers, coroutines: coroutines, arguments: arguments, perCall: 2) { [unowned self] i in
                self.current = running[i]
            }
        } catch {
            current = nil
            coroutinePool.append(contentsOf: coroutines)
            return nil
        }
        current = nil
        batchedMessages += outcome.completed + (outcome.stop == nil ? 0 : 1)
        // The batch's slots leave the run queue; what is runnable afterwards is queued again.
        for slot in slots { slot.queued = false }
        runHead = end
        if runHead > 4096 && runHead * 2 > runQueue.count {
            runQueue.removeFirst(runHead)
            runHead = 0
        }
        let now = clock.now
        for k in 0..<outcome.completed {
            let slot = slots[k]
            slot.mailbox.removeFirst()
            slot.dirty = true
            slot.lastActive = now
            if coroutinePool.count < 256 { coroutinePool.append(coroutines[k]) }
            if slot.running == nil && (slot.retiring || slot.upgradePending) { afterCall(slot) }
            if slot.isRunnable { schedule(slot) }
        }
        guard let stop = outcome.stop else { return outcome.completed }
        let slot = slots[outcome.completed]
        continueStopped(slot, coroutines[outcome.completed], stop, envelope: slot.mailbox.removeFirst())
        for k in (outcome.completed + 1)..<slots.count {
            if coroutinePool.count < 256 { coroutinePool.append(coroutines[k]) }
            schedule(slots[k])
        }
        return outcome.completed + 1
    }

    /// One step of one agent: resume its waiting handler, or start its next message.
    private func runOne(_ slot: AgentSlot) -> Bool {
        guard slot.state != .failed, !slot.waiting else { return false }
        if let values = slot.resumeWith, let running = slot.running {
            slot.resumeWith = nil
            run(slot) { () throws(LuaError) in try running.resume(values) }
            return true
        }
        guard slot.backoffUntil == nil, !slot.mailbox.isEmpty else { return false }
        guard let envelope = slot.mailbox.popFirst() else { return false }
        if slot.env == nil {
            do { try activate(slot) } catch {
                logger.error("agent '\(slot.name)' failed to start: \(error)")
                slot.runningEnvelope = envelope
                handlerFailed(slot, error)
                return true
            }
        }
        let handlerName: String
        switch envelope.kind {
        case .ask: handlerName = "on_task"
        case .send: handlerName = "on_message"
        case .reply: return false
        }
        guard let handler = handlerName == "on_task" ? slot.onTask : slot.onMessage else {
            reply(to: envelope, .failure(ReplyError("agent '\(slot.name)' has no \(handlerName) handler")))
            return true
        }
        let co: LuaCoroutine
        do {
            if let pooled = coroutinePool.popLast() {
                try pooled.restart(handler)
                co = pooled
            } else {
                co = try lua.coroutine(handler)
            }
        } catch {
            reply(to: envelope, .failure(ReplyError(error.summary)))
            return true
        }
        slot.running = co
        slot.runningEnvelope = envelope
        let from = envelope.from.node == name ? envelope.from.agent : envelope.from.description
        run(slot) { () throws(LuaError) in try co.resume([envelope.payload, .string(LuaString(from))]) }
        return true
    }

    /// Resumes the agent's handler and acts on what it yields or returns.
    private func run(_ slot: AgentSlot, _ resume: () throws(LuaError) -> LuaCoroutine.Outcome) {
        current = slot
        defer { current = nil }
        slot.lastActive = clock.now
        let outcome: LuaCoroutine.Outcome
        do { outcome = try resume() } catch {
            handlerFailed(slot, error)
            return
        }
        switch outcome {
        case .returned(let values):
            slot.dirty = true
            if let finished = slot.running, coroutinePool.count < 256 { coroutinePool.append(finished) }
            slot.running = nil
            if let envelope = slot.runningEnvelope {
                slot.runningEnvelope = nil
                reply(to: envelope, .success(LuaValueBox(value: values.first ?? .nil)))
            }
        case .yielded(let values):
            handleYield(slot, values)
        }
    }

    private func handleYield(_ slot: AgentSlot, _ values: [LuaValue]) {
        // The handler ran up to here and may have changed `state`: it is saved on the next flush,
        // while the handler waits (in sleep or ask), not only when it returns.
        slot.dirty = true
        let op = values.first?.string
        let from = Address(node: name, agent: slot.name)
        switch op {
        case "loom.ask":
            guard let toText = values[safe: 1]?.string, let to = Address(toText, localNode: name) else {
                wake(slot, with: [.nil, .string("ask: the first argument must be an address (agent or node/agent)")])
                return
            }
            let id = newRequest()
            let timeout = seconds(values[safe: 3]?.table?["timeout"]) ?? options.askTimeout
            pending[id] = .agent(slot.name)
            if case .failure(let e) = enqueue(Envelope(from: from, to: to, kind: .ask(id: id), payload: values[safe: 2] ?? .nil)) {
                pending[id] = nil
                wake(slot, with: [.nil, .string(LuaString(e.message))])
                return
            }
            slot.waiting = true
            if to.node != name { slot.awaitsOtherNode = true }
            addTimer(Timer(deadline: clock.now + timeout, action: .askTimeout(id)))
        case "loom.ask_all":
            guard let list = values[safe: 1]?.table else {
                wake(slot, with: [.nil, .string("ask_all: expected a list of {to, task}")])
                return
            }
            let timeout = seconds(values[safe: 2]?.table?["timeout"]) ?? options.askTimeout
            slot.group = AgentSlot.Group(results: LuaTable(), remaining: list.array.count, ids: [])
            slot.waiting = true
            if list.array.isEmpty {
                slot.group = nil
                wake(slot, with: [.table(LuaTable())])
                return
            }
            for (i, item) in list.array.enumerated() {
                let id = newRequest()
                slot.group?.ids.append(id)
                pending[id] = .group(slot.name, i)
                let toText = item.table?["to"].string ?? item.table?[1].string ?? ""
                let task = item.table?["task"] ?? item.table?[2] ?? .nil
                guard let to = Address(toText, localNode: name) else {
                    deliverReply(id: id, result: .failure(ReplyError("'\(toText)' is not an address")))
                    continue
                }
                if case .failure(let e) = enqueue(Envelope(from: from, to: to, kind: .ask(id: id), payload: task)) {
                    deliverReply(id: id, result: .failure(e))
                    continue
                }
                if to.node != name { slot.awaitsOtherNode = true }
                addTimer(Timer(deadline: clock.now + timeout, action: .askTimeout(id)))
            }
        case "loom.sleep":
            let duration = seconds(values[safe: 1]) ?? .zero
            slot.waiting = true
            addTimer(Timer(deadline: clock.now + duration, action: .wake(slot.name)))
        default:
            handlerFailed(slot, LuaError(kind: .runtime, message: "a handler yielded outside a coroutine of its own "
                + "(use ask, ask_all or sleep to wait; coroutine.yield only inside coroutine.wrap)"))
        }
    }

    private func seconds(_ v: LuaValue?) -> Duration? {
        guard let s = v?.number, s.isFinite, s >= 0 else { return nil }
        return .milliseconds(Int64((s * 1000).rounded()))
    }

    func reply(to envelope: Envelope, _ result: Result<LuaValueBox, ReplyError>) {
        guard case .ask(let id) = envelope.kind else {
            if case .failure(let e) = result { logger.warning("message to '\(envelope.to.agent)' failed: \(e.message)") }
            return
        }
        _ = enqueue(Envelope(from: envelope.to, to: envelope.from, kind: .reply(id: id, result: result), payload: .nil))
    }

    // MARK: Supervision

    /// A handler failed: the asker gets the error; a crash restarts the agent from its last
    /// persisted state with backoff, and too many restarts stop it. A budget breach fails only the
    /// message.
    func handlerFailed(_ slot: AgentSlot, _ error: LuaError) {
        var log = logger
        log[metadataKey: "agent"] = .string(slot.name)
        log.error("handler failed: \(error.description)")
        slot.running = nil
        slot.waiting = false
        slot.resumeWith = nil
        if let group = slot.group {
            for id in group.ids { pending[id] = nil }
            slot.group = nil
        }
        if let envelope = slot.runningEnvelope {
            slot.runningEnvelope = nil
            reply(to: envelope, .failure(ReplyError(error.summary)))
        }
        if [.timeout, .budget, .memory].contains(error.kind) { return }
        let now = clock.now
        slot.restarts = slot.restarts.filter { now - $0 < options.restartWindow } + [now]
        slot.totalRestarts += 1
        passivate(slot, save: false)
        if slot.restarts.count > options.maxRestarts {
            slot.state = .failed
            log.error("agent stopped: \(slot.restarts.count) restarts within \(options.restartWindow)")
            try? store.setStatus(agent: slot.name, status: "failed", restarts: slot.totalRestarts)
            for envelope in slot.mailbox { reply(to: envelope, .failure(ReplyError("agent '\(slot.name)' has failed and is stopped"))) }
            slot.mailbox.removeAll()
            return
        }
        var delay = options.restartBackoff
        for _ in 1..<slot.restarts.count { delay = delay * 2 }
        slot.backoffUntil = now + delay
        addTimer(Timer(deadline: now + delay, action: .retry(slot.name)))
    }

    // MARK: Persistence and passivation

    /// Writes the state of the given agents (or of every dirty active agent) in one transaction.
    func flush(_ slots: [AgentSlot]? = nil) {
        var states: [String: [UInt8]] = [:]
        for slot in slots ?? agents.values.filter({ $0.dirty }) {
            guard let env = slot.env else { continue }
            // Not dirty any more even when the state cannot be saved: a state that cannot be
            // copied (too large, a function in it) is tried again when a handler changes it, not
            // on every flush.
            slot.dirty = false
            do {
                let value = try env.rawRef("state")?.value(path: "state") ?? .nil
                states[slot.name] = try StateCodec.encode(value)
            } catch {
                logger.error("agent '\(slot.name)': cannot save state: \(error)")
            }
        }
        do { try store.saveStates(states) } catch {
            logger.error("cannot write agent state: \(error)")
        }
        do { try store.memoryStore()?.flush() } catch {
            logger.error("cannot write memory usage: \(error)")
        }
    }

    /// Scheduled consolidation of every agent's memory (`[memory] consolidate_every`).
    func consolidateMemory() {
        guard let memory = store.memoryStore() else { return }
        do {
            let r = try memory.consolidate(agent: nil, now: Date().timeIntervalSince1970)
            logger.info("memory consolidated: expired \(r.expired), merged \(r.merged), folded \(r.folded) into \(r.summaries) summaries")
        } catch {
            logger.error("memory consolidation failed: \(error)")
        }
    }

    /// Passivates agents idle longer than the idle time.
    func passivateIdle() {
        let now = clock.now
        var idle: [AgentSlot] = []
        for slot in agents.values where slot.env != nil && slot.running == nil && slot.mailbox.isEmpty
            && now - slot.lastActive >= options.idleTime {
            idle.append(slot)
        }
        guard !idle.isEmpty else { return }
        flush(idle)
        for slot in idle { passivate(slot, save: false) }
    }

    func statuses() -> [AgentStatus] {
        agentOrder.compactMap { agents[$0] }.map {
            AgentStatus(name: $0.name, state: $0.state, mailbox: $0.mailbox.count, restarts: $0.totalRestarts)
        }
    }

    /// Answers with `error` every ask still queued in a mailbox, or being handled: at the end of a shutdown's grace, nobody will answer them otherwise. Replies to
    /// other nodes go to `outbound`.
    func failUnfinishedAsks(_ error: ReplyError) {
        for slot in agents.values {
            if let running = slot.runningEnvelope, case .ask = running.kind {
                slot.runningEnvelope = nil
                reply(to: running, .failure(error))
            }
            for envelope in slot.mailbox {
                if case .ask = envelope.kind { reply(to: envelope, .failure(error)) }
            }
        }
    }

    /// Saves every active agent, fails every waiting external ask, and closes the VM.
    func shutdown() {
        flush(agents.values.filter { $0.env != nil })
        for (id, waiter) in pending {
            if case .external(let c) = waiter { c.resume(throwing: ReplyError("node '\(name)' shut down")) }
            pending[id] = nil
        }
        for slot in agents.values {
            slot.env = nil
            slot.onTask = nil
            slot.onMessage = nil
            slot.running = nil
        }
        coroutinePool.removeAll()
        modules.removeAll()
        behaviours.removeAll()
        hostTables.removeAll()
        api.removeAll()
        logTable = nil
        try? lua.close()
    }
}

/// One agent of a node: dormant (a row), active (an environment), or failed.
package final class AgentSlot {
    /// The kind's manifest (replaced when a reload changes it).
    var manifest: AgentManifest
    /// The instance name: the kind's name, or `kind:id`.
    let name: String
    var state: AgentStatus.State = .dormant { didSet { openChanged() } }
    /// Its number in the node's mail (0: a slot outside it, for a trial run).
    let id: Int32
    /// Every change that can make the agent busy tells the mail it is not ready (the engine says
    /// when it is again, see ``NodeEngine/refreshReady(_:)``).
    /// Unowned: the engine owns the mail and every slot, and a slot never outlives its engine.
    private unowned let mail: LuaMail?
    package var env: LuaRef? { didSet { notReady() } }
    /// The handlers, read once at activation.
    var onTask: LuaRef?
    package var onMessage: LuaRef? { didSet { notReady() } }
    var mailbox = Deque<Envelope>() {
        didSet {
            notReady()
            if id > 0 { mail?.setBacklog(id, mailbox.count) }
        }
    }
    /// The handler in flight.
    var running: LuaCoroutine? {
        didSet {
            notReady()
            awaitsOtherNode = false
        }
    }
    var runningEnvelope: Envelope?
    var waiting = false { didSet { notReady() } }
    /// Whether the handler waits on an ask to another node (whose reply may come at any time).
    var awaitsOtherNode = false
    var resumeWith: [LuaValue]? { didSet { notReady() } }
    var group: Group?
    var lastActive = ContinuousClock.now
    var restarts: [ContinuousClock.Instant] = []
    var totalRestarts = 0
    var backoffUntil: ContinuousClock.Instant? { didSet { notReady() } }
    var dirty = false
    /// The code version its environment runs (see ``NodeEngine/versions``).
    var envVersion = 1
    /// A reload arrived while a call was in flight: upgrade when the call finishes.
    var upgradePending = false { didSet { notReady() } }
    /// The agent was removed from the node: stop when the call in flight finishes.
    var retiring = false { didSet { openChanged() } }
    /// Whether the slot is in the run queue.
    var queued = false

    struct Group {
        var results: LuaTable
        var remaining: Int
        var ids: [UInt64]
    }

    init(manifest: AgentManifest, name: String, id: Int32 = 0, mail: LuaMail? = nil) {
        self.manifest = manifest
        self.name = name
        self.id = id
        self.mail = mail
    }

    /// Active and idle: a handler may start on it now (not waiting, not running, not backing off,
    /// not about to be upgraded or removed). C delivery (the mail, batches) runs only such agents.
    var canStartMessage: Bool {
        env != nil && state == .active && !waiting && running == nil && resumeWith == nil
            && backoffUntil == nil && !upgradePending && !retiring
    }

    /// Whether sends may queue for it in the mail (a stopped or retiring agent's sends take the
    /// host's path, which answers with the error).
    var isOpen: Bool { state != .failed && !retiring }

    private func notReady() {
        if id > 0 { mail?.clearReady(id) }
    }

    private func openChanged() {
        if id > 0 { mail?.setFlags(id, open: isOpen, readyWith: nil) }
    }

    var isRunnable: Bool {
        guard state != .failed, !waiting else { return false }
        if resumeWith != nil { return true }
        return running == nil && backoffUntil == nil && !mailbox.isEmpty
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
