import Crypto
import Foundation
import SwiftProtobuf
import GRPCCore
import Logging
import LoomWire

/// The hub's gRPC service (loom.hub.v1.Hub): a thin adapter from the protocol to ``Hub``.
struct HubService: Loom_Hub_V1_Hub.SimpleServiceProtocol {
    let hub: Hub

    func connect(request: RPCAsyncSequence<Loom_Hub_V1_NodeMessage, any Error>, response: RPCWriter<Loom_Hub_V1_HubMessage>,
                 context: ServerContext) async throws {
        let nonce = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        try await response.write(.with { $0.challenge = .with { $0.nonce = nonce; $0.protocolVersion = Frames.version } })
        let hub = self.hub
        // The reader (hello, then every message) and the writer run side by side; when either ends,
        // the stream ends. The reader hands the connection over once the hello is accepted.
        let (accepted, hand) = AsyncStream<HubConnection?>.makeStream()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var messages = request.makeAsyncIterator()
                let connection: HubConnection
                do {
                    guard let first = try await messages.next() else { hand.yield(nil); return }
                    guard case .hello(let hello)? = first.body else {
                        try await response.write(.with { $0.refusal = .with { $0.kind = .malformed; $0.message = "a stream starts with a hello" } })
                        hand.yield(nil)
                        return
                    }
                    do throws(HubRefusal) { connection = try await hub.hello(hello, nonce: nonce) } catch {
                        hub.logger.warning("refused a hello: \(error.message)")
                        try await response.write(.with { $0.refusal = .with { $0.kind = error.kind; $0.message = error.message } })
                        hand.yield(nil)
                        return
                    }
                    let storedThrough = (try? await hub.store.storedThrough(connection.name.description)) ?? 0
                    try await response.write(.with { $0.welcome = .with { $0.storedThrough = storedThrough } })
                } catch {
                    hand.yield(nil)
                    return
                }
                hand.yield(connection)
                do {
                    while !connection.isClosed, let message = try await messages.next() {
                        switch message.body {
                        case .frame(let frame): await hub.take(frame, from: connection)
                        case .ack(let ack): await hub.acknowledged(ack, by: connection)
                        case .hello, .none:
                            connection.refuse(.with { $0.kind = .malformed; $0.message = "a hello comes once, first" })
                        }
                    }
                } catch {
                    hub.logger.debug("the stream of '\(connection.name)' ended: \(error)")
                }
                connection.close()
            }
            var handed = accepted.makeAsyncIterator()
            guard let connection = await handed.next() ?? nil else {
                await group.waitForAll()
                return
            }
            group.addTask {
                do { try await hub.write(to: connection, response) } catch {
                    hub.logger.debug("writing to '\(connection.name)' ended: \(error)")
                }
                connection.close()
            }
            await group.next()
            connection.close()
            group.cancelAll()
            await group.waitForAll()
            await hub.disconnected(connection)
        }
    }

    func nodes(request: Loom_Hub_V1_NodesRequest, context: ServerContext) async throws -> Loom_Hub_V1_NodesReply {
        let nodes = try await hub.nodes()
        return .with { $0.nodes = nodes }
    }

    func find(request: Loom_Hub_V1_FindRequest, context: ServerContext) async throws -> Loom_Hub_V1_FindReply {
        let found = try await hub.find(request.capability, asker: request.asker)
        return .with { $0.nodes = found }
    }

    func lookup(request: Loom_Hub_V1_LookupRequest, context: ServerContext) async throws -> Loom_Hub_V1_NodeInfo {
        guard let info = try await hub.lookup(request.name) else {
            throw RPCError(code: .notFound, message: "no node '\(request.name)' in the hub's directory")
        }
        return info
    }
}

