public import LuaKit

/// Where a message goes: an agent within a node. Written `agent` within the node, `node/agent`
/// across nodes of the same process.
public struct Address: Sendable, Hashable, CustomStringConvertible {
    public var node: String
    public var agent: String

    public init(node: String, agent: String) {
        self.node = node
        self.agent = agent
    }

    /// Parses `agent` (in `localNode`) or `node/agent`; nil when malformed.
    public init?(_ text: String, localNode: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1 where !parts[0].isEmpty: self.init(node: localNode, agent: String(parts[0]))
        case 2 where !parts[0].isEmpty && !parts[1].isEmpty: self.init(node: String(parts[0]), agent: String(parts[1]))
        default: return nil
        }
    }

    public var description: String { "\(node)/\(agent)" }
}

/// A message between agents. Payloads are copies (``LuaValue``), never shared tables.
package struct Envelope: Sendable {
    package enum Kind: Sendable {
        case send
        case ask(id: UInt64)
        case reply(id: UInt64, result: Result<LuaValueBox, ReplyError>)
    }

    package var from: Address
    package var to: Address
    package var kind: Kind
    package var payload: LuaValue

    package init(from: Address, to: Address, kind: Kind, payload: LuaValue) {
        self.from = from
        self.to = to
        self.kind = kind
        self.payload = payload
    }

    /// Envelopes that cannot be delivered: a failure reply with `error` for each ask, and how many
    /// sends (which have nobody to tell) are lost. A reply is lost without a word: its asker's node
    /// is gone, and nobody waits for it.
    static func undeliverable(_ envelopes: [Envelope], _ error: ReplyError) -> (replies: [Envelope], sends: Int) {
        var replies: [Envelope] = [], sends = 0
        for e in envelopes {
            switch e.kind {
            case .ask(let id): replies.append(Envelope(from: e.to, to: e.from, kind: .reply(id: id, result: .failure(error)), payload: .nil))
            case .send: sends += 1
            case .reply: break
            }
        }
        return (replies, sends)
    }
}

/// A wrapper so that results can be carried in `Result`.
package struct LuaValueBox: Sendable {
    var value: LuaValue
}

/// Why an ask got no result, or why the node refused a message or a request; as data, GRDB style.
///
/// Match ``kind`` rather than ``message``: the message is for people (the CLI prints it) and may
/// change wording; the kind does not.
///
/// The same text reaches Lua: an `ask` that fails returns `nil, message`, and an `ask_all` entry
/// `{ok = false, error = message}`. The kind does not cross into Lua.
public struct ReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// No reply within the ask's timeout.
        case timeout
        /// No agent of that name (or kind, for `kind:id`) on the node.
        case noAgent
        /// No node of that name in this process (never started, or shut down and gone).
        case noNode
        /// Nobody listens on `$host` of the node, or the message was not a send.
        case noHost
        /// The address is malformed (an `ask_all` entry).
        case badAddress
        /// The agent failed too often and is stopped: nothing runs it until the node restarts.
        case stopped
        /// The agent's kind was removed from the node by a reload.
        case removed
        /// The agent's code was reloaded twice while the call ran: the call was stopped (the rule
        /// of two versions).
        case callStopped
        /// The receiver's mailbox holds `mailboxCapacity` messages already.
        case mailboxFull
        /// Earlier messages to the receiver could not be moved out of the mail (the VM is out of
        /// memory); trying again may succeed.
        case outOfMemory
        /// The agent has no handler for this kind of message (`on_task` for asks).
        case noHandler
        /// The handler raised an error, or ran out of its time, instruction or memory budget.
        case handlerFailed(LuaError.Kind)
        /// The node is shutting down: it refuses new work from the host.
        case shuttingDown
        /// The node shut down before the request was answered (or delivered).
        case shutDown
        /// A node of that name already runs in this process.
        case duplicateNode
        /// Anything else: errors of tools built on the runtime (the test runner, benchmarks).
        case other
    }

    public var kind: Kind
    /// What the CLI prints and what an agent's `ask` returns as its error.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// An error of kind ``Kind/other``.
    public init(_ message: String) { self.init(.other, message) }

    public var description: String { message }
}
