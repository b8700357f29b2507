public import Crypto
public import Foundation

/// What a node signs, byte for byte (docs/formats.md, "The hub protocol"): a domain prefix, then
/// bytes that travel unchanged. A frame's signature covers `"loom-frame-v1\n" + content`; a hello's
/// covers `"loom-hello-v1\n" + nonce + claim`. The prefixes keep a signature made for one purpose
/// from being accepted for the other.
public enum WireSignature: Sendable {
    public static let framePrefix = Data("loom-frame-v1\n".utf8)
    public static let helloPrefix = Data("loom-hello-v1\n".utf8)

    /// The bytes a frame's signature covers.
    public static func frameMessage(_ content: Data) -> Data {
        var m = framePrefix
        m.append(content)
        return m
    }

    /// The bytes a hello's signature covers.
    public static func helloMessage(nonce: Data, claim: Data) -> Data {
        var m = helloPrefix
        m.append(nonce)
        m.append(claim)
        return m
    }

    public static func signFrame(_ content: Data, with key: Curve25519.Signing.PrivateKey) throws -> Data {
        try key.signature(for: frameMessage(content))
    }

    public static func verifyFrame(_ content: Data, signature: Data, key: Curve25519.Signing.PublicKey) -> Bool {
        signature.count == 64 && key.isValidSignature(signature, for: frameMessage(content))
    }
}
