public import Foundation
import SwiftProtobuf

/// Frames as bytes: the content a sender signs, built from a header and a body of envelopes that
/// the outbox keeps already encoded.
///
/// Protobuf lets the fields of one message be written in pieces: `content = header + body`, where
/// the header is a `FrameContent` with no envelopes and the body one with only envelopes. The
/// outbox stores the body once; each transmission adds a fresh header (its time) and signs anew.
public enum Frames: Sendable {
    public static let version: UInt32 = 1
    /// The most a frame's content may hold; a hub refuses more (TOO_LARGE).
    public static let maxContentBytes = 4 << 20
    /// How far a frame's time may stray from the hub's clock before it is refused as a replay.
    public static let window: Int64 = 300_000

    /// The encoded envelopes of a frame (field 6 of `FrameContent`, repeated).
    public static func body(_ envelopes: [Loom_Hub_V1_Envelope]) throws -> Data {
        var c = Loom_Hub_V1_FrameContent()
        c.envelopes = envelopes
        return try c.serializedData()
    }

    /// The content of a frame: header fields then `body`.
    public static func content(sender: String, target: String, sequence: UInt64, sentAtMs: Int64, body: Data) throws -> Data {
        var h = Loom_Hub_V1_FrameContent()
        h.version = version
        h.sender = sender
        h.target = target
        h.sequence = sequence
        h.sentAtMs = sentAtMs
        var data = try h.serializedData()
        data.append(body)
        return data
    }

    /// Milliseconds since 1970, as frames carry time.
    public static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
