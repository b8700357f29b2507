import Crypto
import Foundation
import SwiftProtobuf
import GRPCCore
import GRPCNIOTransportHTTP2
public import Logging
import LoomBundle
import LoomCore
public import LoomRuntime
public import LoomWire
import LuaKit
import Synchronization

/// A node's link to its hub: one bidirectional stream, kept open with reconnection and backoff;
/// the durable outbox its messages for other processes go through; the signatures, sequence and
/// dedupe of what arrives.
///
/// ```swift
/// let link = try HubLink(node: node, directory: "Examples/hub/alpha", hub: HubURL("http://127.0.0.1:7420"))
/// Task { try await link.run() }    // until link.stop()
/// ```
///
/// What leaves: the node hands over each turn's envelopes for unknown nodes (``forward(_:)``); a
/// flusher groups them into frames per target, writes them to the outbox in one transaction, signs
/// and sends them; the hub's acknowledgement removes them. After a reconnection every frame still
/// in the outbox is sent again (signed anew, same sequence), and the hub keeps what it had.
/// An ask made while the hub is unreachable fails at once (`unreachable`); a send waits in the outbox.
///
/// What arrives: a frame must verify against the sender's pinned key and carry a sequence above
/// the last one delivered from that sender; it is then posted to the node, its sequence stored,
/// and only then acknowledged to the hub.
public final class HubLink: RemoteNodes, Sendable {
    public let hub: HubURL
    let name: String
    private let node: Node
    private let signer: FrameSigner
    private let claim: Loom_Hub_V1_HelloClaim
    private let outbox: Outbox
    private let logger: Logger
    private let client: GRPCClient<HTTP2ClientTransport.Posix>

    /// The most envelopes one frame carries.
    static let frameLimit = 512
    /// A frame is closed once its envelopes reach this many bytes (a single larger message goes
    /// alone, up to the hub's limit, ``Frames/maxContentBytes``).
    static let frameBytes = 1 << 20
    /// Call options for the stream: messages up to a full frame each way.
    static var streamOptions: CallOptions {
        var o = CallOptions.defaults
        o.maxRequestMessageBytes = Frames.maxContentBytes + 65_536
        o.maxResponseMessageBytes = Frames.maxContentBytes + 65_536
        return o
    }

    private struct State {
        var pending: [Envelope] = []
        var stream: SignalQueue<Loom_Hub_V1_NodeMessage>?
        var resend = false
        var ackedThrough: UInt64 = 0
        var ackDirty = false
        var seenToStore: [String: UInt64] = [:]
        var refused: [(UInt64, Loom_Hub_V1_Refusal.Kind, String)] = []
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
        var stopped = false
        var everConnected = false
    }
    private let state = Mutex(State())
    /// The last sequence delivered from each sender (stored in the outbox's database).
    private let seen: Mutex<[String: UInt64]>
    /// Keys pinned for senders (the first the hub gave, or one a signed rotation moved to).
    private let keys: Mutex<[String: Data]>
    private let sentFrames = Atomic<Int>(0)

    /// A link for `node`, whose folder is `directory` (its identity signs; its database keeps the
    /// outbox). Call ``run()`` to connect.
    public init(node: Node, directory: String, hub: HubURL, logger: Logger = Logger(label: "loom.hub.link")) throws(HubError) {
        let identity: NodeIdentity
        do { identity = try NodeIdentity.load(node: directory) } catch {
            throw HubError(.refused, "node '\(node.name)' has no key to sign with: \(error) (loom keys init \(directory) makes one)")
        }
        do { signer = FrameSigner(try identity.signingKey()) } catch { throw HubError(.refused, "\(error)") }
        self.hub = hub
        self.node = node
        name = node.name
        self.logger = logger
        // A file of its own next to node.sqlite: the node's store and the link never wait on each
        // other's write lock.
        outbox = try Outbox(path: Paths.join(directory, ".loom/hub-link.sqlite"))
        let rotation = NodeIdentity.statements(node: directory)
            .last { $0.kind == .rotation && $0.newKey == identity.publicKey }?.text ?? ""
        claim = .with {
            $0.name = node.name; $0.publicKey = identity.publicKey.raw; $0.lineage = node.lineageOrder
            $0.provides = node.provides; $0.rotation = rotation; $0.protocolVersion = Frames.version
        }
        do {
            seen = Mutex(try outbox.seen())
            keys = Mutex(try outbox.keys())
            client = GRPCClient(transport: try HTTP2ClientTransport.Posix(
                target: .ipv4(address: hub.host, port: hub.port), transportSecurity: .plaintext,
                config: .defaults {
                    $0.connection.maxIdleTime = nil
                    // No flush coalescing (see HubServer): an ask's frame goes out at once.
                    $0.connection.flushCoalescing = nil
                }))
        } catch let e as HubError { throw e } catch {
            throw HubError(.storage, "cannot start the link to \(hub): \(error)")
        }
    }

    /// Whether the stream is up now.
    public var isConnected: Bool { state.withLock { $0.stream != nil } }
    /// Frames waiting in the outbox for the hub's acknowledgement.
    public func unacknowledged() throws -> Int { try outbox.count() }

    // MARK: Out

    package func forward(_ envelopes: [Envelope]) {
        var failed: [Envelope] = []
        state.withLock { s in
            let up = s.stream != nil && !s.stopped
            for e in envelopes {
                if !up, case .ask(let id) = e.kind {
                    let why = s.stopped ? "the link to the hub at \(hub) is closed" : "the hub at \(hub) is not reachable now"
                    failed.append(Envelope(from: e.to, to: e.from, kind: .reply(id: id, result: .failure(ReplyError(.unreachable, why))), payload: .nil))
                } else {
                    s.pending.append(e)
                }
            }
        }
        signal()
        if !failed.isEmpty { node.post(failed) }
    }

    private func signal() {
        let w: CheckedContinuation<Void, Never>? = state.withLock { s in
            s.signalled = true
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    private func waitForWork() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.signalled || s.stopped { s.signalled = false; return true }
                s.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    // MARK: Running

    /// Connects and keeps the link up until ``stop()``.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.client.runConnections() }
            group.addTask { await self.flush() }
            group.addTask { await self.connectLoop() }
            // The flusher and the connection loop end on stop(); then the client goes.
            _ = try await group.next()
            _ = try await group.next()
            client.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// Stops the link: what is pending goes to the outbox, the stream closes.
    public func stop() {
        let stream = state.withLock { s in
            s.stopped = true
            return s.stream
        }
        stream?.close()
        signal()
    }

    private var stopped: Bool { state.withLock { $0.stopped } }

    private func connectLoop() async {
        var backoff = 0.05
        var failures = 0
        let api = Loom_Hub_V1_Hub.Client(wrapping: client)
        while !stopped {
            let queue = SignalQueue<Loom_Hub_V1_NodeMessage>()
            do {
                try await api.connect(request: StreamingClientRequest(of: Loom_Hub_V1_NodeMessage.self) { writer in
                    while let batch = await queue.next() {
                        for m in batch { try await writer.write(m) }
                    }
                }, options: Self.streamOptions) { response in
                    defer { queue.close() }
                    try await self.session(response.messages, queue)
                }
            } catch {
                if failures == 0 || failures % 20 == 0 {
                    logger.warning("hub at \(hub): \(Self.describe(error)); trying again")
                } else {
                    logger.debug("hub at \(hub): \(Self.describe(error))")
                }
            }
            queue.close()
            let wasUp = state.withLock { s -> Bool in
                defer { s.stream = nil }
                return s.stream != nil
            }
            if wasUp { backoff = 0.05; failures = 0; logger.notice("disconnected from the hub at \(hub)") } else { failures += 1 }
            guard !stopped else { break }
            let jitter = Double.random(in: 0.8...1.2)
            try? await Task.sleep(for: .milliseconds(Int(backoff * jitter * 1000)))
            backoff = min(backoff * 2, 5)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? RPCError { return e.code == .unavailable ? "not reachable (\(e.message))" : "\(e.code): \(e.message)" }
        if let e = error as? HubError { return e.message }
        return "\(error)"
    }

    /// One stream, from the challenge to its end.
    private func session(_ messages: RPCAsyncSequence<Loom_Hub_V1_HubMessage, any Error>, _ queue: SignalQueue<Loom_Hub_V1_NodeMessage>) async throws {
        var it = messages.makeAsyncIterator()
        let w = try await HubHandshake.hello(&it, claim: try claim.serializedData(), signer: signer, name: name, on: queue)
        let first = state.withLock { s in
            s.stream = queue
            s.resend = true
            if w.storedThrough > s.ackedThrough { s.ackedThrough = w.storedThrough; s.ackDirty = true }
            defer { s.everConnected = true }
            return !s.everConnected
        }
        logger.notice("\(first ? "connected" : "connected again") to the hub at \(hub) as '\(name)'")
        signal()
        while let m = try await it.next() {
            switch m.body {
            case .frame(let f): await receive(f)
            case .ack(let a):
                guard a.sender == name else { continue }
                state.withLock { s in
                    if a.through > s.ackedThrough { s.ackedThrough = a.through; s.ackDirty = true }
                }
                signal()
            case .refusal(let r):
                logger.error("the hub refused frame \(r.sequence) to '\(r.target)': \(r.message)")
                if r.sequence > 0 { state.withLock { $0.refused.append((r.sequence, r.kind, r.message)) } }
                signal()
            case .challenge, .welcome, .none:
                throw HubError(.malformed, "the hub sent a second challenge or welcome")
            }
        }
    }

    /// The flusher: the one task that writes the outbox and sends frames.
    private func flush() async {
        var block: (next: UInt64, through: UInt64)
        do { block = try outbox.reserve() } catch {
            logger.critical("the hub outbox cannot reserve sequence numbers: \(error); nothing will be sent")
            return
        }
        var sentThrough: UInt64 = 0
        while true {
            await waitForWork()
            let (envelopes, stream, resend, acked, seenMarks, refused, stopped) = state.withLock { s in
                defer {
                    s.pending.removeAll(keepingCapacity: true); s.resend = false; s.ackDirty = false
                    s.seenToStore.removeAll(); s.refused.removeAll()
                }
                return (s.pending, s.stream, s.resend, s.ackDirty ? s.ackedThrough : nil, s.seenToStore, s.refused, s.stopped)
            }
            // Envelopes into frames: per target, in order, up to frameLimit each.
            let now = Frames.nowMs()
            var frames: [Outbox.Frame] = []
            var failed: [Envelope] = []
            var open: [String: Int] = [:]
            var bodies: [[Loom_Hub_V1_Envelope]] = []
            var sizes: [Int] = []
            for e in envelopes {
                let w: Loom_Hub_V1_Envelope
                do { w = try WireEnvelopes.encode(e, nowMs: now) } catch {
                    if case .ask(let id) = e.kind {
                        failed.append(Envelope(from: e.to, to: e.from, kind: .reply(id: id, result: .failure(
                            ReplyError(.badAddress, "the task cannot cross to another process: \(error)"))), payload: .nil))
                    } else { logger.error("a message from '\(e.from)' to '\(e.to)' cannot cross to another process: \(error)") }
                    continue
                }
                let size = w.payload.count + w.fromAgent.utf8.count + w.toAgent.utf8.count + 32
                if let i = open[e.to.node], bodies[i].count < Self.frameLimit, sizes[i] + size <= Self.frameBytes {
                    bodies[i].append(w)
                    sizes[i] += size
                } else {
                    open[e.to.node] = bodies.count
                    bodies.append([w])
                    sizes.append(size)
                    frames.append(Outbox.Frame(sequence: 0, target: e.to.node, body: Data()))
                }
            }
            do {
                for i in frames.indices {
                    if block.next > block.through { block = try outbox.reserve() }
                    frames[i].sequence = block.next
                    block.next += 1
                    frames[i].body = try Frames.body(bodies[i])
                }
                try outbox.commit(frames: frames, ackedThrough: acked, seen: seenMarks)
            } catch {
                logger.error("the hub outbox failed, \(envelopes.count) message(s) not sent: \(error)")
                frames = []
            }
            if !failed.isEmpty { node.post(failed) }
            for (sender, seq) in seenMarks { stream?.push(.with { $0.ack = .with { $0.sender = sender; $0.through = seq } }) }
            for (seq, kind, message) in refused { answerRefused(seq, kind, message) }
            if let stream {
                do {
                    if resend {
                        sentThrough = 0
                        var page = try outbox.frames(after: 0, limit: 256)
                        while !page.isEmpty {
                            for f in page { try send(f, on: stream) }
                            sentThrough = page.last!.sequence
                            await stream.waitBelow(256)
                            page = try outbox.frames(after: sentThrough, limit: 256)
                        }
                    }
                    for f in frames where f.sequence > sentThrough {
                        try send(f, on: stream)
                        sentThrough = f.sequence
                    }
                } catch {
                    logger.error("signing or reading the outbox failed: \(error)")
                }
                await stream.waitBelow(256)
            }
            if stopped { return }
        }
    }

    private func send(_ f: Outbox.Frame, on stream: SignalQueue<Loom_Hub_V1_NodeMessage>) throws {
        let content = try Frames.content(sender: name, target: f.target, sequence: f.sequence, sentAtMs: Frames.nowMs(), body: f.body)
        let signature = try signer.signFrame(content)
        stream.push(.with { $0.frame = .with { $0.content = content; $0.signature = signature } })
        sentFrames.add(1, ordering: .relaxed)
    }

    /// The hub refused frame `seq` for good: its asks fail with `noNode` (no such node at the hub),
    /// `unreachable` (a session that is gone) or `refused`.
    private func answerRefused(_ seq: UInt64, _ kind: Loom_Hub_V1_Refusal.Kind, _ message: String) {
        let replyKind: ReplyError.Kind = switch kind {
        case .unknownNode: .noNode
        case .unreachable: .unreachable
        default: .refused
        }
        guard let frame = try? outbox.remove(seq),
              let content = try? Loom_Hub_V1_FrameContent(serializedBytes: frame.body) else { return }
        var replies: [Envelope] = []
        var sends = 0
        for w in content.envelopes {
            guard w.kind == .ask else { sends += w.kind == .send ? 1 : 0; continue }
            replies.append(Envelope(from: Address(node: frame.target, agent: w.toAgent), to: Address(node: name, agent: w.fromAgent),
                                    kind: .reply(id: w.askID, result: .failure(ReplyError(replyKind, "the hub refused the message to '\(frame.target)/\(w.toAgent)': \(message)"))),
                                    payload: .nil))
        }
        if sends > 0 { logger.error("\(sends) message(s) to node '\(frame.target)' were refused by the hub and dropped") }
        if !replies.isEmpty { node.post(replies) }
    }

    // MARK: In

    private func receive(_ frame: Loom_Hub_V1_SignedFrame) async {
        guard let content = try? Loom_Hub_V1_FrameContent(serializedBytes: frame.content) else {
            logger.error("refused a frame from the hub: its content does not parse")
            return
        }
        let sender = content.sender
        func drop(_ why: String) {
            // Not acknowledged: its sequence proves nothing, and must not hide the sender's real frames.
            logger.error("refused frame \(content.sequence) from '\(sender)': \(why)")
        }
        guard content.target == name else { return drop("it is addressed to '\(content.target)', not this node") }
        guard let base = SenderName(sender) else { return drop("'\(sender.prefix(80))' is not a node name") }
        func verifies(_ keyBytes: Data?) -> Bool {
            guard let keyBytes, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else { return false }
            return WireSignature.verifyFrame(frame.content, signature: frame.signature, key: key)
        }
        let pinned = keys.withLock { $0[base.node] }
        // A key not pinned yet, or one that may have rotated: the directory is asked.
        var verified = verifies(pinned)
        if !verified { verified = verifies(await lookupKey(base.node, pinned: pinned)) }
        guard verified else {
            return drop("its signature does not verify against \(base.node)'s key (altered or forged on the way)")
        }
        let last = seen.withLock { $0[sender] ?? 0 }
        guard content.sequence > last else {
            logger.warning("refused frame \(content.sequence) from '\(sender)': replayed or reordered (frames up to \(last) are delivered)")
            acknowledge(sender, content.sequence)
            return
        }
        guard content.sentAtMs <= Frames.nowMs() + Frames.window else {
            return drop("it is dated \((content.sentAtMs - Frames.nowMs()) / 1000) s in the future")
        }
        var envelopes: [Envelope] = []
        envelopes.reserveCapacity(content.envelopes.count)
        let now = Frames.nowMs()
        for w in content.envelopes {
            if w.kind == .ask, w.deadlineMs > 0, w.deadlineMs < now { continue }   // its asker stopped waiting
            do { envelopes.append(try WireEnvelopes.decode(w, sender: sender, node: name)) } catch {
                logger.error("a message in frame \(content.sequence) from '\(sender)' does not decode: \(error)")
            }
        }
        seen.withLock { $0[sender] = content.sequence }
        if !envelopes.isEmpty { node.post(envelopes) }
        acknowledge(sender, content.sequence)
    }

    /// Stores `sender`'s mark (the flusher does, in its next transaction) and then acknowledges it.
    private func acknowledge(_ sender: String, _ seq: UInt64) {
        state.withLock { s in s.seenToStore[sender] = max(s.seenToStore[sender] ?? 0, seq) }
        signal()
    }

    /// `node`'s key from the hub's directory, pinned if nothing was; a key other than `pinned` is
    /// taken only with a rotation statement that the pinned key signed.
    private func lookupKey(_ node: String, pinned: Data?) async -> Data? {
        let api = Loom_Hub_V1_Hub.Client(wrapping: client)
        guard let info = try? await api.lookup(.with { $0.name = node }) else { return nil }
        if let pinned {
            guard pinned != info.publicKey else { return pinned }
            guard let s = try? KeyStatement(text: info.rotation), s.kind == .rotation, s.key.raw == pinned,
                  s.newKey?.raw == info.publicKey, (try? s.verify()) != nil else {
                logger.error("the hub gives '\(node)' a key other than the one pinned here, with no rotation signed by it")
                return nil
            }
            logger.notice("'\(node)' rotated its key; the new one is pinned")
        }
        keys.withLock { $0[node] = info.publicKey }
        try? outbox.pin(node, key: info.publicKey)
        return info.publicKey
    }
}
