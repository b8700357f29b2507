package import LuaKit

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
        // Every ask and send parses its address: one scan, no array of parts.
        guard let slash = text.utf8.firstIndex(of: UInt8(ascii: "/")) else {
            guard !text.isEmpty else { return nil }
            self.init(node: localNode, agent: text)
            return
        }
        let node = text[..<slash], agent = text[text.utf8.index(after: slash)...]
        guard !node.isEmpty, !agent.isEmpty, !agent.utf8.contains(UInt8(ascii: "/")) else { return nil }
        self.init(node: String(node), agent: String(agent))
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
    /// For an ask: how long its asker waits (a hub carries it as a deadline; nil: not known).
    package var timeout: Duration?

    package init(from: Address, to: Address, kind: Kind, payload: LuaValue, timeout: Duration? = nil) {
        self.from = from
        self.to = to
        self.kind = kind
        self.payload = payload
        self.timeout = timeout
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
    package var value: LuaValue
    package init(_ value: LuaValue) { self.value = value }
}
