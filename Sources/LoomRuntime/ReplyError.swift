public import LuaKit

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
        /// The handler's step remembered memories that could not be committed (disk full, ...): a
        /// reply that would say they were remembered is withheld (see group commit in
        /// docs/lua-api.md, `memory@1`).
        case notDurable
        /// The target node is in another process and its hub cannot be reached (or the node is not
        /// connected to one): the ask was not sent.
        case unreachable
        /// The hub or the receiving node refused the message: a signature that does not verify, a
        /// replayed frame, a name owned by another key.
        case refused
    }

    public var kind: Kind
    /// What the CLI prints and what an agent's `ask` returns as its error.
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension ReplyError.Kind {
    /// The kind's name on the wire (the hub protocol's `ReplyFailure.kind`) and in `--json`.
    public var wireName: String {
        switch self {
        case .timeout: "timeout"
        case .noAgent: "noAgent"
        case .noNode: "noNode"
        case .noHost: "noHost"
        case .badAddress: "badAddress"
        case .stopped: "stopped"
        case .removed: "removed"
        case .callStopped: "callStopped"
        case .mailboxFull: "mailboxFull"
        case .outOfMemory: "outOfMemory"
        case .noHandler: "noHandler"
        case .handlerFailed: "handlerFailed"
        case .shuttingDown: "shuttingDown"
        case .shutDown: "shutDown"
        case .duplicateNode: "duplicateNode"
        case .notDurable: "notDurable"
        case .unreachable: "unreachable"
        case .refused: "refused"
        }
    }

    /// The kind a wire name stands for; a name this build does not know reads as `refused`.
    public init(wireName: String) {
        let all: [ReplyError.Kind] = [.timeout, .noAgent, .noNode, .noHost, .badAddress, .stopped, .removed, .callStopped,
                                      .mailboxFull, .outOfMemory, .noHandler, .handlerFailed(.runtime), .shuttingDown,
                                      .shutDown, .duplicateNode, .notDurable, .unreachable, .refused]
        self = all.first { $0.wireName == wireName } ?? .refused
    }
}
