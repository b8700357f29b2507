import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
public import LoomWire
public import ServiceLifecycle

/// `loom hub serve`: the hub on a gRPC (HTTP/2) listener, as a swift-service-lifecycle service. A
/// graceful shutdown (SIGTERM, SIGINT) closes every node's stream and stops accepting; what the hub
/// acknowledged is already in its store.
public final class HubServer: Service {
    public let hub: Hub
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let transport: HTTP2ServerTransport.Posix

    /// A hub listening on `listen` (port 0 picks a free port: see ``address()``) over `store`.
    public init(listen: HubURL, store: any HubStore, logger: Logger = Logger(label: "loom.hub")) {
        hub = Hub(store: store, logger: logger)
        transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: listen.host, port: listen.port), transportSecurity: .plaintext,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = Frames.maxContentBytes + 65_536
                // No flush coalescing: its delay (100 µs asked, a millisecond in practice) lands on
                // every ask's hop; frames already batch what a busy node sends.
                $0.connection.flushCoalescing = nil
            })
        server = GRPCServer(transport: transport, services: [HubService(hub: hub)])
    }

    /// Opens a hub whose store lives in `data` (`hub.sqlite`, created with the folder).
    public convenience init(listen: HubURL, data: String, logger: Logger = Logger(label: "loom.hub")) throws(HubError) {
        do { try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true) } catch {
            throw HubError(.storage, "cannot create the hub's folder \(data): \(error.localizedDescription)")
        }
        let store: SQLiteHubStore
        do { store = try SQLiteHubStore(path: (data as NSString).appendingPathComponent("hub.sqlite")) } catch {
            throw HubError(.storage, error.message)
        }
        self.init(listen: listen, store: store, logger: logger)
    }

    /// Serves until a graceful shutdown.
    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await server.serve()
        } onGracefulShutdown: {
            self.stop()
        }
    }

    /// Stops accepting and ends every stream.
    public func stop() {
        server.beginGracefulShutdown()
        hub.closeAll()
    }

    /// Where the hub listens, once it does (the port chosen for port 0).
    public func address() async throws(HubError) -> HubURL {
        do {
            let a = try await transport.listeningAddress
            guard let v4 = a.ipv4 else { throw HubError(.badAddress, "the hub listens on \(a), not IPv4") }
            return HubURL(host: v4.host, port: v4.port)
        } catch let e as HubError { throw e } catch {
            throw HubError(.unreachable, "the hub could not listen: \(error)")
        }
    }
}
