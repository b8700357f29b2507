package import LoomCore
public import LuaKit

/// How a node runs its agents.
public struct NodeOptions: Sendable {
    /// Budgets for every entry into the node's VM (a handler step, an activation). The memory cap is
    /// for the whole node.
    public var limits = LuaLimits(timeout: .seconds(1), memory: 1 << 30)
    /// Messages an agent's mailbox holds before senders get "mailbox full".
    public var mailboxCapacity = 1024
    /// An active agent with nothing to do for this long is passivated: state saved, environment
    /// released.
    public var idleTime: Duration = .seconds(30)
    /// Supervision: more than `maxRestarts` restarts within `restartWindow` stops the agent.
    public var maxRestarts = 5
    public var restartWindow: Duration = .seconds(10)
    /// The first restart waits this long; each further one within the window twice as long.
    public var restartBackoff: Duration = .milliseconds(10)
    /// How often dirty agent state is written to the database.
    public var flushInterval: Duration = .milliseconds(200)
    /// Shutdown first delivers what the node has accepted (queued messages, handlers part-way
    /// through a sleep or an ask) for up to this long, then saves state; what is still undelivered
    /// then is counted in a warning. Zero: save at once.
    public var shutdownGrace: Duration = .seconds(5)
    /// Default timeout of `ask` when the caller gives none.
    public var askTimeout: Duration = .seconds(5)
    /// `fs.read@1`: root name -> folder. Agents and skills read only under these (see
    /// ``FileAccess``); with none, every path is refused.
    public var fileRoots: [String: String] = [:]
    public var fileLimits = FileAccess.Limits()
    /// Messages agents send to `$host` (`send("$host", msg)`): the sending agent's name and the
    /// message. Without a listener such a send fails with a clear error.
    public var hostInbox: (@Sendable (String, LuaValue) -> Void)?
    /// Delivers runs of plain sends to idle agents in batches (payloads built in one protected
    /// call, handlers resumed in C); off, every message takes the one-message path.
    public var batchDelivery = true
    /// Refuse to open (or reload) the node when its loom.lock is missing or differs from what
    /// resolution gives now (see ``NodePlan``). Off, a lock that differs is a logged warning.
    public var locked = false
    /// An agent to add to the node before it resolves (``NodePlan/ExtraAgent``): `loom test`'s
    /// `__test` agent (LoomAuthoring), which uses every capability the node's skills provide.
    package var extraAgent: (@Sendable (Lineage) -> NodePlan.ExtraAgent)?

    public init() {}
}

/// What `loom agents` shows.
public struct AgentStatus: Sendable, Equatable {
    public enum State: String, Sendable { case dormant, active, failed }
    public var name: String
    public var state: State
    public var mailbox: Int
    public var restarts: Int
}
