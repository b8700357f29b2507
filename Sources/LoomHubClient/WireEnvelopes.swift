import Foundation
import SwiftProtobuf
import LoomRuntime
import LoomWire
import LuaKit

/// The runtime's envelopes as the hub protocol carries them, and back. Payloads travel in the
/// state codec (`LST1`), the format agents' state is saved in.
enum WireEnvelopes {
    /// The wire form of `e`; a payload the codec cannot hold (a function, a cycle) fails with its path.
    static func encode(_ e: Envelope, nowMs: Int64) throws -> Loom_Hub_V1_Envelope {
        var w = Loom_Hub_V1_Envelope()
        w.fromAgent = e.from.agent
        w.toAgent = e.to.agent
        switch e.kind {
        case .send:
            w.kind = .send
            w.payload = Data(try StateCodec.encode(e.payload, path: "message"))
        case .ask(let id):
            w.kind = .ask
            w.askID = id
            w.payload = Data(try StateCodec.encode(e.payload, path: "task"))
            if let t = e.timeout {
                let (s, a) = t.components
                w.deadlineMs = nowMs + s * 1000 + a / 1_000_000_000_000_000
            }
        case .reply(let id, let result):
            w.kind = .reply
            w.askID = id
            switch result {
            case .success(let box): w.payload = Data(try StateCodec.encode(box.value, path: "reply"))
            case .failure(let error): w.failure = .with { $0.kind = error.kind.wireName; $0.message = error.message }
            }
        }
        return w
    }

    /// The runtime's envelope for `w`, sent by `sender` to `node`.
    static func decode(_ w: Loom_Hub_V1_Envelope, sender: String, node: String) throws -> Envelope {
        let from = Address(node: sender, agent: w.fromAgent), to = Address(node: node, agent: w.toAgent)
        func payload() throws -> LuaValue { w.payload.isEmpty ? .nil : try StateCodec.decode(Array(w.payload)) }
        switch w.kind {
        case .send: return Envelope(from: from, to: to, kind: .send, payload: try payload())
        case .ask: return Envelope(from: from, to: to, kind: .ask(id: w.askID), payload: try payload())
        case .reply:
            if w.hasFailure {
                return Envelope(from: from, to: to, kind: .reply(id: w.askID, result: .failure(
                    ReplyError(ReplyError.Kind(wireName: w.failure.kind), w.failure.message))), payload: .nil)
            }
            return Envelope(from: from, to: to, kind: .reply(id: w.askID, result: .success(LuaValueBox(try payload()))), payload: .nil)
        case .UNRECOGNIZED(let n): throw HubError(.malformed, "an envelope of unknown kind \(n)")
        }
    }
}
