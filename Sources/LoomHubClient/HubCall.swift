import Crypto
import Foundation
import SwiftProtobuf
import GRPCCore
import GRPCNIOTransportHTTP2
import LoomBundle
import LoomRuntime
public import LoomWire
public import LuaKit

/// One ask or send from a tool that is not a running node (`loom ask`, `loom send`): it connects
/// as a session of a node (`NODE#cli-…`, signing with that node's key), sends one frame and waits
/// for the hub's acknowledgement (a send) or the reply (an ask).
public enum HubCall: Sendable {
    /// What the hub's directory says, for `loom hub nodes` and `loom hub find`.
    public static func nodes(hub: HubURL) async throws(HubError) -> [Loom_Hub_V1_NodeInfo] {
        try await unary(hub) { api in try await api.nodes(.init()).nodes }
    }

    public static func find(hub: HubURL, capability: String, asker: String) async throws(HubError) -> [Loom_Hub_V1_NodeInfo] {
        try await unary(hub) { api in try await api.find(.with { $0.capability = capability; $0.asker = asker }).nodes }
    }

    private static func unary<R: Sendable>(_ hub: HubURL, _ body: @Sendable @escaping (Loom_Hub_V1_Hub.Client<HTTP2ClientTransport.Posix>) async throws -> R) async throws(HubError) -> R {
        do {
            return try await withGRPCClient(transport: try transport(hub)) { client in
                try await body(Loom_Hub_V1_Hub.Client(wrapping: client))
            }
        } catch let e as RPCError {
            throw HubError(e.code == .unavailable ? .unreachable : .malformed, "hub at \(hub): \(HubLink.describe(e))")
        } catch {
            throw HubError(.unreachable, "hub at \(hub): \(error)")
        }
    }

    static func transport(_ hub: HubURL) throws -> HTTP2ClientTransport.Posix {
        try HTTP2ClientTransport.Posix(target: .ipv4(address: hub.host, port: hub.port), transportSecurity: .plaintext)
    }

    /// Asks `agent` of `node` through the hub, as a session of the node in folder `asker`.
    public static func ask(hub: HubURL, as asker: String, node: String, agent: String, task: LuaValue,
                           timeout: Duration) async throws -> LuaValue {
        try await call(hub: hub, as: asker, node: node, agent: agent, payload: task, ask: true, timeout: timeout)
    }

    /// Sends to `agent` of `node` through the hub; returns when the hub has stored it.
    public static func send(hub: HubURL, as asker: String, node: String, agent: String, message: LuaValue,
                            timeout: Duration) async throws {
        _ = try await call(hub: hub, as: asker, node: node, agent: agent, payload: message, ask: false, timeout: timeout)
    }

    private static func call(hub: HubURL, as asker: String, node: String, agent: String, payload: LuaValue, ask: Bool,
                             timeout: Duration) async throws -> LuaValue {
        let identity = try NodeIdentity.load(node: asker)
        let key = FrameSigner(try identity.signingKey())
        let session = "\(identity.node)#cli-\(UInt32.random(in: 0...UInt32.max))"
        var w = Loom_Hub_V1_Envelope()
        w.fromAgent = "$cli"
        w.toAgent = agent
        w.kind = ask ? .ask : .send
        w.askID = 1
        w.payload = Data(try StateCodec.encode(payload, path: ask ? "task" : "message"))
        if ask { w.deadlineMs = Frames.nowMs() + Int64(timeout.components.seconds * 1000) + timeout.components.attoseconds / 1_000_000_000_000_000 }
        let body = try Frames.body([w])
        let claim = try Loom_Hub_V1_HelloClaim.with {
            $0.name = session; $0.publicKey = identity.publicKey.raw; $0.protocolVersion = Frames.version
        }.serializedData()
        let outcome: Result<LuaValue, any Error> = await withTaskGroup(of: Result<LuaValue, any Error>?.self) { group in
            group.addTask {
                do {
                    return .success(try await withGRPCClient(transport: try transport(hub)) { client in
                        let api = Loom_Hub_V1_Hub.Client(wrapping: client)
                        let queue = SignalQueue<Loom_Hub_V1_NodeMessage>()
                        return try await api.connect(request: StreamingClientRequest(of: Loom_Hub_V1_NodeMessage.self) { writer in
                            while let batch = await queue.next() { for m in batch { try await writer.write(m) } }
                        }, options: HubLink.streamOptions) { response in
                            defer { queue.close() }
                            var it = response.messages.makeAsyncIterator()
                            _ = try await HubHandshake.hello(&it, claim: claim, signer: key, name: session, on: queue)
                            let content = try Frames.content(sender: session, target: node, sequence: 1, sentAtMs: Frames.nowMs(), body: body)
                            queue.push(.with { $0.frame = .with { $0.content = content; $0.signature = (try? key.signFrame(content)) ?? Data() } })
                            while let m = try await it.next() {
                                switch m.body {
                                case .ack(let a) where a.sender == session && a.through >= 1:
                                    if !ask { return LuaValue.nil }
                                case .refusal(let r):
                                    let kind: ReplyError.Kind = switch r.kind {
                                    case .unknownNode: .noNode
                                    case .unreachable: .unreachable
                                    default: .refused
                                    }
                                    throw ReplyError(kind, "the hub refused the \(ask ? "ask" : "message"): \(r.message)")
                                case .frame(let f):
                                    return try await reply(f, session: session, node: node, api: api)
                                default: continue
                                }
                            }
                            throw HubError(.unreachable, "the hub closed the stream before \(ask ? "the reply" : "its acknowledgement")")
                        }
                    })
                } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure(ReplyError(.timeout, "no \(ask ? "reply" : "acknowledgement") from \(node)/\(agent) within \(timeout)"))
            }
            let first = await group.next()!!
            group.cancelAll()
            return first
        }
        do { return try outcome.get() } catch let e as RPCError {
            throw HubError(e.code == .unavailable ? .unreachable : .malformed, "hub at \(hub): \(HubLink.describe(e))")
        }
    }

    /// The reply in frame `f`, verified against the replying node's key from the directory.
    private static func reply(_ f: Loom_Hub_V1_SignedFrame, session: String, node: String,
                              api: Loom_Hub_V1_Hub.Client<HTTP2ClientTransport.Posix>) async throws -> LuaValue {
        let content = try Loom_Hub_V1_FrameContent(serializedBytes: f.content)
        guard content.target == session, content.sender == node else { throw HubError(.refused, "a frame from '\(content.sender)' that is not the reply") }
        let info = try await api.lookup(.with { $0.name = node })
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: info.publicKey),
              WireSignature.verifyFrame(f.content, signature: f.signature, key: key) else {
            throw ReplyError(.refused, "the reply's signature does not verify against \(node)'s key (altered or forged on the way)")
        }
        guard let w = content.envelopes.first(where: { $0.kind == .reply && $0.askID == 1 }) else { throw HubError(.malformed, "a frame with no reply") }
        let e = try WireEnvelopes.decode(w, sender: node, node: session)
        guard case .reply(_, let result) = e.kind else { throw HubError(.malformed, "not a reply") }
        switch result {
        case .success(let box): return box.value
        case .failure(let error): throw error
        }
    }
}
