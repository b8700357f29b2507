import Dispatch
import Foundation
public import Logging
import LoomBundle
import LoomCore
import LoomMemory
public import LuaKit
import Synchronization

/// A running node: one Lua VM, its skills and agents, owned by this actor.
///
/// ```swift
/// let node = try Node(directory: "Examples/child")
/// await node.start()
/// let reply = try await node.ask("finder", ["documents": ["a loom", "a thread"], "word": "loom"])   // {1}
/// await node.shutdown()
/// ```
///
/// Many nodes run in one process, each with its own VM; agents address each other across nodes as
/// `node/agent`. Only this actor touches the VM.
public actor Node {
    public nonisolated let name: String
    /// The node then its ancestors, in C3 order (what it registers at a hub).
    public nonisolated let lineageOrder: [String]
    /// The capabilities its own skills provide, `name@major`, sorted (what it registers at a hub).
    public nonisolated let provides: [String]
    /// Runs the node on a serial queue of its own (see ``NodeExecutor``).
    nonisolated let executor: NodeExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    /// The node's queue as a task executor, for code that mostly feeds this node:
    /// `withTaskExecutorPreference(node.taskExecutor) { ... }` runs it on the node's queue, so each
    /// ``ask(_:_:timeout:)`` goes in and comes back without a thread hop (see ``NodeTaskExecutor``).
    public nonisolated let taskExecutor: NodeTaskExecutor
    package let engine: NodeEngine
    let directory: NodeDirectory
    /// Where messages for nodes outside this process go (the hub link), if anywhere.
    var remote: (any RemoteNodes)?
    /// Where the node is in its life (see ``Lifecycle``).
    private var lifecycle = Lifecycle.ready
    /// A turn is posted on the node's queue and has not run yet.
    private var turnPosted = false
    /// When the running node's timer fires next (nil: not armed).
    private var timerDue: ContinuousClock.Instant?
    private var lastFlush = ContinuousClock.now
    private var lastIdleCheck = ContinuousClock.now
    /// `[memory] consolidate_every`: the schedule of consolidation, nil for on demand only.
    private let consolidateEvery: Duration?
    private var lastConsolidation = ContinuousClock.now
    // Hot reload
    private var watcher: FileWatcher?
    private var watched: [String] = []
    private var quiet: Duration = .milliseconds(40)
    /// The last change seen while changes settle before a reload; nil when none is pending.
    private var changeSeen: ContinuousClock.Instant?
    /// Reloads done so far (each coalesced burst of changes counts once).
    public private(set) var reloadCount = 0
    public private(set) var lastReload: ReloadOutcome?

    /// Loads and resolves the node in `path`, loads its skills, and registers it in `directory`.
    /// Its agents stay dormant until their first message.
    public init(directory path: String, options: NodeOptions = NodeOptions(), store: (any NodeStore)? = nil,
                directory: NodeDirectory = .shared, logger: Logger = Logger(label: "loom.node")) throws {
        // Installed bundles must be as their publishers signed them.
        try InstalledBundles.check(node: path)
        // The one way to open a node (NodePlan): lineage, loom.lock's pins, resolution. `loom test`'s
        // agent uses each capability of the lineage that resolves here (a skill the constitution
        // refuses stays out, and `use` in a test says so).
        let plan = try NodePlan(directory: path, locked: options.locked, extraAgent: options.extraAgent)
        for warning in plan.warnings { logger.warning("\(warning)") }
        let lineage = plan.lineage, resolution = plan.resolution
        let dir = lineage.root.manifest.directory
        let settings = lineage.root.manifest.memory.values
        var ranking = Ranking()
        if let v = settings["weight_text"] { ranking.text = v }
        if let v = settings["weight_recency"] { ranking.recency = v }
        if let v = settings["weight_importance"] { ranking.importance = v }
        if let v = settings["weight_outcome"] { ranking.outcome = v }
        if let v = settings["half_life_days"] { ranking.halfLife = v * 86_400 }
        // node.toml bounds it (MemorySettings.bounds); a value set in code past that is capped, not converted blindly.
        consolidateEvery = settings["consolidate_every"].flatMap { s in
            s > 0 && s.isFinite ? Duration.milliseconds(Int64(min(s, MemorySettings.bounds["consolidate_every"]!) * 1000)) : nil
        }
        // node.toml's [fs.roots] grants folders to fs.read@1; roots given by the host add to them.
        var options = options
        options.fileRoots = lineage.root.manifest.fileRoots.merging(options.fileRoots) { _, host in host }
        let store = try store ?? SQLiteNodeStore(path: Paths.join(dir, ".loom/node.sqlite"), ranking: ranking)
        engine = try NodeEngine(lineage: lineage, resolution: resolution, options: options, store: store, logger: logger)
        name = lineage.root.name
        lineageOrder = lineage.order
        provides = Set(lineage.root.skills.flatMap { $0.provides.map(\.key) }).sorted()
        executor = NodeExecutor(label: "loom.node.\(lineage.root.name)")
        taskExecutor = executor.taskExecutor()
        self.directory = directory
        try directory.register(self)
    }

    /// A node's life, as Hummingbird's `Server` has it: one value rather than flags and optional tasks.
    enum Lifecycle {
        /// Made, not started: the host's asks and sends queue, nothing runs them yet.
        case ready
        /// The scheduler runs: a turn (see ``turn()``) whenever work arrives, and `timer` for
        /// what is due later (a sleep's end, an ask's timeout, housekeeping).
        case running(timer: any DispatchSourceTimer)
        /// ``shutdown()`` began: new work from the host is refused while what was accepted is
        /// delivered (see ``drain()``). `hurried` is set by ``hurry()``.
        case stopping(shutdown: Task<Void, Never>, hurried: Bool)
        /// The drain is over: deliveries from other nodes are answered or reported, not run; the
        /// shutdown's task saves state and closes the VM.
        case stopped(shutdown: Task<Void, Never>)
    }

    /// Whether ``shutdown()`` has begun (the host's new work is refused).
    private var stopping: Bool {
        switch lifecycle {
        case .ready, .running: false
        case .stopping, .stopped: true
        }
    }

    /// Whether the drain is over.
    var closed: Bool {
        if case .stopped = lifecycle { return true }
        return false
    }

    private var hurried: Bool {
        if case .stopping(_, let hurried) = lifecycle { return hurried }
        return false
    }

    /// Starts the scheduler.
    public func start() {
        guard case .ready = lifecycle else { return }
        let timer = executor.makeTimer()
        timer.setEventHandler { [weak self] in
            self?.assumeIsolated { node in
                node.timerDue = nil
                node.turn()
            }
        }
        timer.activate()
        lifecycle = .running(timer: timer)
        turn()
    }

    /// Asks `agent` (`agent` or `node/agent`) to handle `task` and waits for its reply.
    public func ask(_ agent: String, _ task: LuaValue, timeout: Duration? = nil) async throws -> LuaValue {
        let to = target(agent)
        if to.node != name {
            if let other = directory.node(to.node) { return try await other.ask(to.agent, task, timeout: timeout) }
            // A node in another process: the ask leaves through the hub, the reply comes back here.
            guard remote != nil else { throw ReplyError(.noNode, "no node '\(to.node)' in this process, and no hub to reach it") }
        }
        guard !stopping else { throw ReplyError(.shuttingDown, "node '\(name)' is shutting down") }
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<LuaValue, any Error>) in
            engine.askFromHost(to, task, timeout: timeout ?? engine.options.askTimeout, waiter: .external(c))
            // The reply may be ready before this returns: the continuation is resumed at once.
            runNow()
        }
    }

    /// Asks each agent its task, all at once, and waits for every reply: one hop onto the node for
    /// the lot, where ``ask(_:_:timeout:)`` in a loop would take one each. Results are in the
    /// order of `asks`; one failing does not fail the others.
    public func ask(many asks: [(agent: String, task: LuaValue)], timeout: Duration? = nil) async -> [Result<LuaValue, ReplyError>] {
        guard !asks.isEmpty else { return [] }
        guard !stopping else {
            return Array(repeating: .failure(ReplyError(.shuttingDown, "node '\(name)' is shutting down")), count: asks.count)
        }
        return await withCheckedContinuation { (c: CheckedContinuation<[Result<LuaValue, ReplyError>], Never>) in
            let group = HostAskGroup(count: asks.count, continuation: c)
            let timeout = timeout ?? engine.options.askTimeout
            for (i, ask) in asks.enumerated() {
                let to = target(ask.agent)
                engine.askFromHost(to, ask.task, timeout: timeout, waiter: .hostGroup(group, i))
            }
            runNow()
        }
    }

    /// Sends `message` to `agent` without waiting for a reply.
    public func send(_ agent: String, _ message: LuaValue) throws {
        guard !stopping else { throw ReplyError(.shuttingDown, "node '\(name)' is shutting down") }
        let to = target(agent)
        if case .failure(let e) = engine.enqueue(Envelope(from: Address(node: name, agent: "$host"), to: to, kind: .send, payload: message)) {
            throw e
        }
        poke()
    }

    /// Sends each message to its agent, in order, in one hop onto the node. Every message is
    /// tried; the failures (a full mailbox, no such agent) come back by position, empty when all
    /// were accepted.
    @discardableResult
    public func send(many messages: [(agent: String, message: LuaValue)]) throws -> [(index: Int, error: ReplyError)] {
        guard !stopping else { throw ReplyError(.shuttingDown, "node '\(name)' is shutting down") }
        let host = Address(node: name, agent: "$host")
        var failures: [(index: Int, error: ReplyError)] = []
        for (i, m) in messages.enumerated() {
            let to = target(m.agent)
            if case .failure(let e) = engine.enqueue(Envelope(from: host, to: to, kind: .send, payload: m.message)) {
                failures.append((i, e))
            }
        }
        poke()
        return failures
    }

    /// Where the host's `agent` (`agent` or `node/agent`) is; text that is not an address names an
    /// agent of this node (which the enqueue then reports missing).
    private func target(_ agent: String) -> Address {
        Address(agent, localNode: name) ?? Address(node: name, agent: agent)
    }

    /// Messages delivered through batches so far.
    func batchedMessageCount() -> Int { engine.batchedMessages }

    /// The names of the host functions this node registered (for the check of ``HostAPI``).
    func registeredHostFunctions() -> Set<String> { engine.hostFunctionNames }

    /// Bytes the node's VM holds after a full garbage collection.
    public func memoryInUse() -> Int {
        guard !closed else { return 0 }
        engine.lua.collectGarbage()
        return engine.lua.memoryUsed
    }

    /// Each agent with its state (dormant, active, failed), mailbox length and restarts.
    public func agents() -> [AgentStatus] { engine.statuses() }

    /// Re-reads the node from disk now: node.toml, lineage, skills and behaviours, all or nothing
    /// (see ``ReloadOutcome``).
    @discardableResult
    public func reload() -> ReloadOutcome {
        guard !stopping else {
            var refused = ReloadOutcome()
            refused.error = "node '\(name)' is shutting down: not reloaded"
            return refused
        }
        let outcome = engine.reload()
        reloadCount += 1
        lastReload = outcome
        if outcome.error == nil, watcher != nil { try? rewatch() }
        poke()
        return outcome
    }

    /// Watches the node's (and its ancestors') node.toml, skill folders and agent folders, and
    /// reloads after changes settle: a burst of writes with less than `quiet` between them
    /// becomes one reload.
    public func watch(quiet: Duration = .milliseconds(40)) throws {
        guard !stopping else { throw ReplyError(.shuttingDown, "node '\(name)' is shutting down: not watching") }
        self.quiet = quiet
        try rewatch()
    }

    private func rewatch() throws {
        let lineage = try NodeLoader().lineage(of: engine.directory)   // the folders only: no resolution
        var folders: [String] = [], files: [String] = []
        for record in lineage.nodes {
            let dir = record.manifest.directory
            files.append(Paths.join(dir, "node.toml"))
            folders.append(Paths.join(dir, record.manifest.agents))
            for s in record.manifest.skills { folders.append(Paths.normalized(Paths.join(dir, s))) }
        }
        let all = (folders + files).sorted()
        guard all != watched || watcher == nil else { return }
        watcher?.stop()
        watched = all
        watcher = try FileWatcher(folders: folders, files: files) { [weak self] _ in
            guard let self else { return }
            Task { await self.noteChange() }
        }
    }

    private func noteChange() {
        let settling = changeSeen != nil
        changeSeen = .now
        guard !settling else { return }
        Task { await self.settleThenReload() }
    }

    private func settleThenReload() async {
        while let seen = changeSeen, ContinuousClock.now - seen < quiet, !stopping {
            try? await Task.sleep(until: seen + quiet, clock: .continuous)
        }
        changeSeen = nil
        if !stopping { reload() }
    }

    /// Stops the node: refuses new work from the host, delivers what it has accepted for up to
    /// `shutdownGrace` (see ``drain()``), saves every active agent's state, and closes the VM. A
    /// second call waits for the first to finish.
    public func shutdown() async {
        switch lifecycle {
        case .stopping(let task, _), .stopped(let task):
            await task.value
            return
        case .ready: break
        case .running(let timer): timer.cancel()
        }
        // A task of its own: the caller's cancellation does not cut the drain short (``hurry()`` does).
        // From here on the host's new work is refused, and turns no longer run: the drain does.
        let task = Task { await self.stop() }
        lifecycle = .stopping(shutdown: task, hurried: false)
        timerDue = nil
        await task.value
    }

    /// Whether ``shutdown()`` has begun.
    public var isShuttingDown: Bool { stopping }

    /// Ends the grace period of a shutdown under way now (a second Ctrl-C): what is unfinished is
    /// answered and counted, and state is saved.
    public func hurry() {
        // Before a shutdown there is no grace to end; after the drain, none left.
        guard case .stopping(let task, _) = lifecycle else { return }
        lifecycle = .stopping(shutdown: task, hurried: true)
    }

    private func stop() async {
        watcher?.stop()
        watcher = nil
        await drain()
        // From here on deliveries from other nodes are answered or reported, not queued: the last
        // `sendOutbound` below suspends, and anything queued now would never run.
        if case .stopping(let task, _) = lifecycle { lifecycle = .stopped(shutdown: task) }
        // Asks that will not be answered now get an error at once rather than their timeout.
        engine.failUnfinishedAsks(ReplyError(.shutDown, "node '\(name)' shut down before answering"))
        sendOutbound()
        engine.shutdown()
        directory.unregister(name)
    }

    /// Delivers what the node accepted before it began to stop, for up to `shutdownGrace` (a
    /// handler already running finishes first, within its own time budget), or until ``hurry()``:
    /// queued messages run, handlers waiting on a sleep or an ask go on, replies from other nodes
    /// arrive, and dirty state is flushed on the usual interval. This runs whether or not the node
    /// was started. New asks and sends from the host are refused meanwhile; messages from other
    /// nodes' agents still come in (they were sent before those nodes knew). What is left is
    /// counted in a warning, never dropped silently.
    private func drain() async {
        let clock = ContinuousClock()
        let deadline = clock.now + engine.options.shutdownGrace
        var over: Bool { hurried || clock.now >= deadline }
        var cannotFinish = false
        while !over {
            // The node's own work runs without leaving the actor, 50 ms at a time: a suspension
            // can wait long for a busy thread pool, and nothing else of this node needs the actor
            // now but deliveries from other nodes, which get their turn between slices. Small
            // steps, so that the deadline is looked at often.
            let slice = min(clock.now + .milliseconds(50), deadline)
            repeat { engine.step(budget: 32) } while engine.hasWork && clock.now < slice
            if finishTurn(housekeeping: false) {
                await Task.yield()
                continue
            }
            guard engine.unfinished > 0 else { return }
            // Handlers asleep past the deadline (an agent that wakes every minute) cannot finish in
            // the grace: no use waiting for them.
            guard engine.canFinishSomething(before: deadline) else {
                cannotFinish = true
                break
            }
            // Waiting on a timer (a sleep, a restart's backoff) or on another node: look again
            // when the timer is due, and at least every 10 ms. (This runs in the shutdown's own
            // task, which nobody cancels: a cancelled caller cannot turn the sleep into a spin.)
            let until = min(engine.nextDeadline ?? deadline, deadline, clock.now + .milliseconds(10))
            try? await Task.sleep(until: until, clock: .continuous)
        }
        let left = engine.unfinished
        if left > 0 {
            let why = hurried ? "when told to hurry"
                : cannotFinish ? "that could not finish within the grace period of \(engine.options.shutdownGrace)"
                : "after the grace period of \(engine.options.shutdownGrace)"
            engine.logger.warning("shutdown: \(left) message(s) or handler(s) still unfinished \(why) (\(engine.unfinishedSummary)); state is saved as it is")
        }
    }

    /// New work arrived (a send from the host, a reload): a running node takes a turn soon, once
    /// for everything that arrives meanwhile, so that messages sent in a burst are delivered
    /// together (in batches, see ``NodeOptions/batchDelivery``). Before ``start()`` the work
    /// waits; once stopping, the drain takes it.
    private func poke() {
        guard case .running = lifecycle else { return }
        postTurn()
    }

    /// Work that someone waits on arrived (an ask from the host, deliveries from another node):
    /// a running node takes its turn now, on the queue where this runs, so that a reply can be on
    /// its way before the caller's hop back.
    func runNow() {
        guard case .running = lifecycle else { return }
        turn()
    }

    /// Posts a turn behind what waits on the node's queue, unless one is posted already.
    private func postTurn() {
        guard !turnPosted else { return }
        turnPosted = true
        executor.post { [self] in
            assumeIsolated { node in
                node.turnPosted = false
                node.turn()
            }
        }
    }

    /// One turn of the scheduler: up to 2,048 handler steps, then what follows them (see
    /// ``finishTurn(housekeeping:)``). When more is ready, the next turn is posted behind what
    /// else waits on the node's queue (the host's asks, deliveries from other nodes), so they
    /// are not held back by a long backlog; then the timer is set for what is due later.
    private func turn() {
        guard case .running(let timer) = lifecycle else { return }
        engine.step(budget: 2048)
        if finishTurn(housekeeping: true) { postTurn() }
        arm(timer)
    }

    /// Sets the timer for the next timer of the engine (a sleep's end, an ask's timeout, a
    /// restart's backoff) or the next housekeeping tick (100 ms), whichever comes first. A timer
    /// already set for sooner stays: it fires, finds nothing due, and is set again.
    private func arm(_ timer: any DispatchSourceTimer) {
        let now = ContinuousClock.now
        var due = max(lastIdleCheck + .milliseconds(100), now)
        if let next = engine.nextDeadline, next < due { due = next }
        if let set = timerDue, set <= due, set > now { return }
        timerDue = due
        let wait = max(.zero, due - now).components
        let nanoseconds = Int(min(wait.seconds, 86_400)) * 1_000_000_000 + Int(wait.attoseconds / 1_000_000_000)
        timer.schedule(deadline: .now() + .nanoseconds(nanoseconds), leeway: .microseconds(500))
    }

    /// What a turn and the shutdown's drain do after their steps: messages for other nodes go
    /// out, dirty state is saved on the usual interval, and (`housekeeping`, while running) idle
    /// agents are passivated and memory consolidated on schedule. Returns whether more work is
    /// ready now.
    private func finishTurn(housekeeping: Bool) -> Bool {
        sendOutbound()
        let now = ContinuousClock.now
        if now - lastFlush >= engine.options.flushInterval {
            engine.flush()
            lastFlush = now
        }
        if housekeeping {
            if now - lastIdleCheck >= .milliseconds(100) {
                engine.passivateIdle()
                lastIdleCheck = now
            }
            if let every = consolidateEvery, now - lastConsolidation >= every {
                engine.consolidateMemory()
                lastConsolidation = now
            }
        }
        return engine.hasWork || !engine.outbound.isEmpty
    }

}
