import Crypto
import Foundation
import SwiftProtobuf
import GRPCCore
public import Logging
import LoomBundle
public import LoomWire
import Synchronization

/// The hub's work, apart from gRPC: the directory, the frames it takes and forwards, the streams of
/// the nodes connected now. ``HubService`` adapts it to the protocol; tests drive it the same way.
///
/// A frame is taken when it verifies against the key its sender proved at hello, its time is
/// within ``Frames/window`` of the hub's clock and its target is in the directory; it is
/// acknowledged to the sender once stored, and leaves the store when the target acknowledges it.
public final class Hub: Sendable {
    let store: any HubStore
    let logger: Logger
    private let connections = Mutex<[String: HubConnection]>([:])
    private let serials = Atomic<UInt64>(0)
    /// What the hub has taken from each sender (a cache of the store's marks).
    private let marks = Mutex<[String: UInt64]>([:])

    public init(store: any HubStore, logger: Logger = Logger(label: "loom.hub")) {
        self.store = store
        self.logger = logger
    }

    /// Names connected now.
    public var connected: [String] { connections.withLock { Array($0.keys).sorted() } }

    /// Ends every stream (the hub is shutting down); nodes reconnect to the next hub.
    public func closeAll() {
        for c in connections.withLock({ Array($0.values) }) { c.close() }
    }

    // MARK: Hello

    /// Checks a hello against the challenge it answers and the directory, registers the node and
    /// returns its connection; a refusal says why.
    func hello(_ hello: Loom_Hub_V1_Hello, nonce: Data) async throws(HubRefusal) -> HubConnection {
        let claim: Loom_Hub_V1_HelloClaim
        do { claim = try Loom_Hub_V1_HelloClaim(serializedBytes: hello.claim) } catch {
            throw HubRefusal(.malformed, "the hello's claim does not parse: \(error)")
        }
        guard claim.protocolVersion == Frames.version else {
            throw HubRefusal(.malformed, "protocol version \(claim.protocolVersion) is not spoken here (this hub speaks \(Frames.version))")
        }
        guard let name = SenderName(claim.name) else {
            throw HubRefusal(.malformed, "'\(claim.name.prefix(80))' is not a node name (letters, digits, - and _; node#session for a tool)")
        }
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: claim.publicKey) else {
            throw HubRefusal(.malformed, "the hello's public key is not 32 bytes of Ed25519")
        }
        guard key.isValidSignature(hello.signature, for: WireSignature.helloMessage(nonce: nonce, claim: hello.claim)) else {
            throw HubRefusal(.badSignature, "the hello of '\(name)' is not signed by the key it claims")
        }
        let existing: DirectoryEntry?
        do { existing = try await store.entry(name.node) } catch { throw HubRefusal(.malformed, "the hub's store failed: \(error)") }
        var entry = existing ?? DirectoryEntry(name: name.node, key: claim.publicKey, lineage: [], provides: [])
        if let existing, existing.key != claim.publicKey {
            entry.key = try Self.rotated(existing, to: claim.publicKey, statement: claim.rotation)
            entry.rotation = claim.rotation
            logger.notice("node '\(name.node)' rotated its key to \(Self.fingerprint(claim.publicKey))")
        }
        if !name.isSession {
            entry.lineage = claim.lineage
            entry.provides = claim.provides
        }
        if entry != existing {
            do { try await store.save(entry) } catch { throw HubRefusal(.malformed, "the hub's store failed: \(error)") }
        }
        let connection = HubConnection(name: name, serial: serials.add(1, ordering: .relaxed).newValue, key: Array(claim.publicKey))
        let replaced = connections.withLock { c in
            defer { c[name.description] = connection }
            return c[name.description]
        }
        if let replaced {
            logger.notice("'\(name)' connected again: its earlier stream is closed")
            replaced.close()
        }
        logger.info("'\(name)' connected")
        return connection
    }

    /// The new key when `statement` is a rotation of `entry`'s key to `newKey`, signed by both.
    private static func rotated(_ entry: DirectoryEntry, to newKey: Data, statement: String) throws(HubRefusal) -> Data {
        let owner = fingerprint(entry.key)
        guard !statement.isEmpty else {
            throw HubRefusal(.nameTaken, "the name '\(entry.name)' belongs to key \(owner); a new key needs the rotation statement `loom keys rotate` wrote, signed by that key")
        }
        let s: KeyStatement
        do { s = try KeyStatement(text: statement, file: "rotation") } catch {
            throw HubRefusal(.nameTaken, "the rotation statement for '\(entry.name)' does not parse: \(error)")
        }
        guard s.kind == .rotation, s.node == entry.name, s.key.raw == entry.key, s.newKey?.raw == newKey else {
            throw HubRefusal(.nameTaken, "the rotation statement does not hand '\(entry.name)' from key \(owner) to the key that connects")
        }
        do { try s.verify() } catch { throw HubRefusal(.nameTaken, "the rotation statement for '\(entry.name)': \(error)") }
        return newKey
    }

    static func fingerprint(_ key: Data) -> String {
        (try? PublicKey(raw: key))?.fingerprint ?? "(not a key)"
    }

    /// The stream of `connection` ended.
    func disconnected(_ connection: HubConnection) async {
        connection.close()
        let removed = connections.withLock { c -> Bool in
            guard c[connection.name.description]?.serial == connection.serial else { return false }
            c[connection.name.description] = nil
            return true
        }
        guard removed else { return }
        logger.info("'\(connection.name)' disconnected")
        if connection.name.isSession {
            // Nobody will come back for a session's replies.
            try? await store.discard(target: connection.name.description)
        }
    }

    // MARK: Frames

    /// Takes a frame from `connection`'s node: checks it, stores it, acknowledges it, wakes its
    /// target's stream. What fails is refused on the sender's stream and logged.
    func take(_ frame: Loom_Hub_V1_SignedFrame, from connection: HubConnection) async {
        func refuse(_ kind: Loom_Hub_V1_Refusal.Kind, _ message: String, sequence: UInt64 = 0, target: String = "") {
            logger.warning("refused a frame from '\(connection.name)': \(message)")
            connection.refuse(.with {
                $0.kind = kind; $0.message = message; $0.sender = connection.name.description
                $0.sequence = sequence; $0.target = target
            })
        }
        guard frame.content.count <= Frames.maxContentBytes else {
            return refuse(.tooLarge, "a frame of \(frame.content.count) bytes is over the hub's limit of \(Frames.maxContentBytes)")
        }
        guard let content = try? Loom_Hub_V1_FrameContent(serializedBytes: frame.content) else {
            return refuse(.malformed, "a frame's content does not parse")
        }
        let sender = connection.name.description
        guard content.sender == sender else {
            return refuse(.badSignature, "a frame on the stream of '\(sender)' says it is from '\(content.sender.prefix(80))'", sequence: content.sequence)
        }
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: connection.key),
              WireSignature.verifyFrame(frame.content, signature: frame.signature, key: key) else {
            return refuse(.badSignature, "frame \(content.sequence) of '\(sender)' is not signed by its key", sequence: content.sequence, target: content.target)
        }
        guard content.version == Frames.version, content.sequence > 0, content.sequence < UInt64(Int64.max) else {
            return refuse(.malformed, "frame \(content.sequence) of '\(sender)': version \(content.version) or sequence out of range", sequence: content.sequence)
        }
        let skew = abs(Frames.nowMs() - content.sentAtMs)
        guard skew <= Frames.window else {
            return refuse(.replayed, "frame \(content.sequence) of '\(sender)' was signed \(skew / 1000) s away from the hub's clock (the window is \(Frames.window / 1000) s)",
                          sequence: content.sequence, target: content.target)
        }
        let mark: UInt64
        if let m = marks.withLock({ $0[sender] }) { mark = m } else {
            mark = (try? await store.storedThrough(sender)) ?? 0
            marks.withLock { $0[sender] = max($0[sender] ?? 0, mark) }
        }
        guard content.sequence > mark else {
            // Sent again after a reconnection: it is stored already; say so again.
            connection.ack(sender: sender, through: mark)
            return
        }
        guard let target = SenderName(content.target) else {
            return refuse(.unknownNode, "'\(content.target.prefix(80))' is not a node name", sequence: content.sequence, target: content.target)
        }
        let targetConnection = connections.withLock { $0[target.description] }
        if target.isSession, targetConnection == nil {
            return refuse(.unreachable, "'\(target)' is not connected (a tool's session is not stored for)", sequence: content.sequence, target: content.target)
        }
        if targetConnection == nil, (try? await store.entry(target.node)) == nil {
            return refuse(.unknownNode, "no node '\(target.node)' in the hub's directory (it has never connected)", sequence: content.sequence, target: content.target)
        }
        do {
            try await store.store([StoredFrame(sender: sender, sequence: content.sequence, target: target.description,
                                               content: frame.content, signature: frame.signature)])
        } catch {
            logger.error("the hub's store failed; frame \(content.sequence) of '\(sender)' is not acknowledged: \(error)")
            return
        }
        marks.withLock { $0[sender] = max($0[sender] ?? 0, content.sequence) }
        connection.ack(sender: sender, through: content.sequence)
        targetConnection?.notify()
    }

    /// `connection`'s node has delivered `sender`'s frames through `through`.
    func acknowledged(_ ack: Loom_Hub_V1_Ack, by connection: HubConnection) async {
        do { try await store.delivered(target: connection.name.description, sender: ack.sender, through: ack.through) } catch {
            logger.error("the hub's store failed to forget delivered frames: \(error)")
        }
    }

    /// Writes to `connection`'s stream until it closes: its control messages, then the frames
    /// stored for it in arrival order (up to 16 at a time, so memory stays bounded whatever waits).
    func write(to connection: HubConnection, _ writer: RPCWriter<Loom_Hub_V1_HubMessage>) async throws {
        var cursor: Int64 = 0
        let target = connection.name.description
        while let control = connection.takeControl() {
            for m in control { try await writer.write(m) }
            let frames = try await store.frames(for: target, after: cursor, limit: 16)
            for f in frames {
                var m = Loom_Hub_V1_HubMessage()
                m.frame = .with { $0.content = f.content; $0.signature = f.signature }
                try await writer.write(m)
                cursor = f.id
            }
            if control.isEmpty && frames.isEmpty { await connection.wait() }
        }
    }

    // MARK: Directory

    public func nodes() async throws -> [Loom_Hub_V1_NodeInfo] {
        let entries = try await store.entries(), waiting = try await store.waiting()
        let live = Set(connected)
        return entries.map { info($0, connected: live.contains($0.name), waiting: waiting[$0.name] ?? 0) }
    }

    public func lookup(_ name: String) async throws -> Loom_Hub_V1_NodeInfo? {
        guard let e = try await store.entry(name) else { return nil }
        return info(e, connected: connections.withLock { $0[name] != nil }, waiting: 0)
    }

    /// The nodes that provide `capability` (`name@major`, or a bare name for any major): those in
    /// `asker`'s lineage first, nearest first, then the rest by name.
    public func find(_ capability: String, asker: String) async throws -> [Loom_Hub_V1_NodeInfo] {
        let all = try await nodes()
        let matches = all.filter { n in
            n.provides.contains { $0 == capability || (!capability.contains("@") && $0.hasPrefix(capability + "@")) }
        }
        let lineage = all.first { $0.name == asker }?.lineage ?? (asker.isEmpty ? [] : [asker])
        func rank(_ n: Loom_Hub_V1_NodeInfo) -> Int { lineage.firstIndex(of: n.name) ?? Int.max }
        return matches.sorted { (rank($0), $0.name) < (rank($1), $1.name) }
    }

    private func info(_ e: DirectoryEntry, connected: Bool, waiting: Int) -> Loom_Hub_V1_NodeInfo {
        .with {
            $0.name = e.name; $0.publicKey = e.key; $0.lineage = e.lineage; $0.provides = e.provides
            $0.connected = connected; $0.waiting = UInt64(waiting); $0.rotation = e.rotation
        }
    }
}

/// Why the hub refuses a hello or a frame: the wire's refusal kind and a message for people.
struct HubRefusal: Error {
    var kind: Loom_Hub_V1_Refusal.Kind
    var message: String
    init(_ kind: Loom_Hub_V1_Refusal.Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}
