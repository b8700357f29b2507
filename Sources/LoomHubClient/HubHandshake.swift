public import Foundation
public import GRPCCore
public import LoomWire
import SwiftProtobuf

/// The opening of a stream to the hub, as every client does it: read the challenge, send the hello
/// (`claim` signed with the nonce), read the welcome. A refusal throws `nameTaken` or `refused`.
public enum HubHandshake: Sendable {
    public static func hello(_ messages: inout RPCAsyncSequence<Loom_Hub_V1_HubMessage, any Error>.AsyncIterator,
                             claim: Data, signer: FrameSigner, name: String,
                             on queue: SignalQueue<Loom_Hub_V1_NodeMessage>) async throws -> Loom_Hub_V1_Welcome {
        guard case .challenge(let challenge)? = try await messages.next(isolation: #isolation)?.body else {
            throw HubError(.malformed, "the hub did not open with a challenge")
        }
        let signature = try signer.signHello(nonce: challenge.nonce, claim: claim)
        queue.push(.with { $0.hello = .with { $0.claim = claim; $0.signature = signature } })
        switch try await messages.next(isolation: #isolation)?.body {
        case .welcome(let w)?:
            return w
        case .refusal(let r)?:
            throw HubError(r.kind == .nameTaken ? .nameTaken : .refused, "the hub refused '\(name)': \(r.message)")
        default:
            throw HubError(.malformed, "the hub answered the hello of '\(name)' with something else than a welcome")
        }
    }
}
