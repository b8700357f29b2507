/// Why something to do with the hub failed; as data, GRDB style. Match ``kind``; ``message`` is for
/// people.
public struct HubError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The hub could not be reached (not running, wrong address) or the stream broke.
        case unreachable
        /// The hub refused a hello or a frame: a bad signature, a replay, a name owned by another key.
        case refused
        /// No node of that name in the hub's directory.
        case unknownNode
        /// A name owned by another key (and no rotation statement signed by that key).
        case nameTaken
        /// An address that is not `http://HOST:PORT`, a name that is not a node name.
        case badAddress
        /// Bytes from the other side that do not parse or break the protocol.
        case malformed
        /// No answer within the time allowed.
        case timeout
        /// The hub's or the node's database failed.
        case storage
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
