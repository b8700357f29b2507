/// Why a key, a statement, a bundle or an installation was refused. The message names the file (and
/// the entry inside a bundle) and says what to do.
public struct BundleError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// A key file or key text is missing or malformed.
        case key
        /// A signature does not verify.
        case signature
        /// The signer is not in the node's trust store.
        case untrusted
        /// The signer's key was revoked.
        case revoked
        /// A file's content does not match the index, or a file is missing or extra.
        case integrity
        /// The archive breaks a safety rule (names, types, sizes, counts).
        case unsafeArchive
        /// A manifest in the bundle, or the index itself, is invalid.
        case manifest
        /// An older version than one already installed.
        case rollback
        /// A permission the node's constitution does not allow.
        case permission
        /// Reading or writing failed.
        case io
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
