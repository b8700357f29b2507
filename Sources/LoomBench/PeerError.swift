/// A comparison peer (`loom bench runtime --peer erlang`) that could not give its figures: not
/// installed, failed to compile or run, ran past its time limit, printed what cannot be read, or
/// lost messages. The description carries what the tool wrote on standard error.
public struct PeerError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The peer's tools (`erl`, `erlc`) are not on the PATH.
        case notInstalled
        /// The peer's source did not compile.
        case compile
        /// The peer exited with a failure status or could not be started.
        case run
        /// The peer ran past its time limit and was killed.
        case timeout
        /// The peer's output line is missing or unreadable.
        case output
        /// The peer ran, but its workers did not each handle every message exactly once.
        case check
    }

    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
