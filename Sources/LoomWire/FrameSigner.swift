public import Crypto
public import Foundation
import Synchronization

/// A node's private key, kept once for signing many frames (decoding the key for each would double
/// the cost of a signature). The key type is not Sendable; the lock makes the signer so.
public final class FrameSigner: Sendable {
    private let key: Mutex<Curve25519.Signing.PrivateKey>
    public let publicKey: Data

    public init(_ key: sending Curve25519.Signing.PrivateKey) {
        publicKey = key.publicKey.rawRepresentation
        self.key = Mutex(key)
    }

    /// The frame signature: Ed25519 over `"loom-frame-v1\n" + content`.
    public func signFrame(_ content: Data) throws -> Data {
        try key.withLock { try WireSignature.signFrame(content, with: $0) }
    }

    /// The hello signature: Ed25519 over `"loom-hello-v1\n" + nonce + claim`.
    public func signHello(nonce: Data, claim: Data) throws -> Data {
        try key.withLock { try $0.signature(for: WireSignature.helloMessage(nonce: nonce, claim: claim)) }
    }
}
