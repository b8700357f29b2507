import Crypto
public import Foundation

/// An Ed25519 public key, written `ed25519:<base64 of the 32 raw bytes>`.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    public let raw: Data

    public init(raw: Data) throws(BundleError) {
        guard raw.count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil else {
            throw BundleError(.key, "an Ed25519 public key is 32 bytes; this one is \(raw.count)")
        }
        self.raw = raw
    }

    /// Parses `ed25519:BASE64`.
    public init(text: String) throws(BundleError) {
        let trimmed = trimmedASCII(text)
        guard trimmed.hasPrefix("ed25519:"), let raw = Data(base64Encoded: String(trimmed.dropFirst(8))) else {
            throw BundleError(.key, "'\(trimmed.prefix(80))' is not a public key; expected ed25519:BASE64 (loom keys show NODE prints one)")
        }
        try self.init(raw: raw)
    }

    public var text: String { "ed25519:" + raw.base64EncodedString() }
    public var description: String { text }

    /// A short fingerprint: the first 16 hex digits of the key's SHA-256, in groups of four.
    public var fingerprint: String {
        let hex = SHA256.hash(data: raw).prefix(8).map { String(format: "%02x", $0) }.joined()
        return stride(from: 0, to: 16, by: 4).map { i in
            String(hex[hex.index(hex.startIndex, offsetBy: i)..<hex.index(hex.startIndex, offsetBy: i + 4)])
        }.joined(separator: ":")
    }

    public func isValidSignature(_ signature: Data, for data: Data) -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return key.isValidSignature(signature, for: data)
    }
}

/// An Ed25519 signature as text: base64.
enum SignatureText {
    static func decode(_ text: String, what: String) throws(BundleError) -> Data {
        guard let data = Data(base64Encoded: trimmedASCII(text)), data.count == 64 else {
            throw BundleError(.signature, "\(what) is not an Ed25519 signature (64 bytes, base64)")
        }
        return data
    }
}

/// `text` without leading and trailing ASCII white space (spaces, tabs, newlines).
func trimmedASCII(_ text: String) -> String {
    let bytes = text.utf8
    func space(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
    guard let first = bytes.firstIndex(where: { !space($0) }), let last = bytes.lastIndex(where: { !space($0) }) else { return "" }
    return String(text[first...last])
}
