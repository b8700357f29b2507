import Logging
import LoomMemory
import LuaKit

/// What a scheduler step holds back until the memories its handlers remembered are committed:
/// replies to the host's asks, and messages to the host (`send("$host", ...)`). Messages for other
/// nodes need no holding: they wait in `outbound`, which the node ships only after the step
/// (`outboundMark` is where this step's begin).
struct HeldOutput {
    /// Whether a step runs now: outside one, nothing is held.
    var stepping = false
    /// Whether a handler staged a memory since the last commit.
    var remembered = false
    var outboundMark = 0
    /// Host code's waiters (``PendingAsks/Waiter/external`` or ``PendingAsks/Waiter/hostGroup``).
    var replies: [(waiter: PendingAsks.Waiter, result: Result<LuaValueBox, ReplyError>)] = []
    var hostSends: [(from: String, message: LuaValue)] = []

    var isEmpty: Bool { !remembered && replies.isEmpty && hostSends.isEmpty }
}

/// Group commit: a `remember` inside a handler is staged (its id given at once), and every memory
/// staged during a scheduler step is committed in one transaction at the end of the step, before
/// anything of the step leaves the node: replies to the host's asks and messages to the host are
/// held until then, and messages for other nodes are shipped by the node after the step. So what an
/// agent told others it remembered is durable.
///
/// When the commit fails, the step's memories are lost (``MemoryCommitError``), and nothing of the
/// step may say otherwise: the host's replies that would have succeeded fail with
/// ``ReplyError/Kind/notDurable``, so do replies to other nodes' asks; the step's sends to other
/// nodes and to the host are dropped, and its asks to other nodes fail at once (the asking agent
/// gets `nil, message`). It is logged as critical with the counts.
extension NodeEngine {
    @inline(__always)
    func beginStep() {
        held.stepping = true
        held.outboundMark = outbound.count
    }

    @inline(__always)
    func endStep() {
        held.stepping = false
        if !held.isEmpty { commitHeld() }
    }

    /// A reply for the host: resumed after the step's commit (at once outside a step).
    func answerHost(_ waiter: PendingAsks.Waiter, _ result: Result<LuaValueBox, ReplyError>) {
        held.replies.append((waiter, result))
        if !held.stepping { commitHeld() }
    }

    /// A message for the host program: handed over after the step's commit (at once outside a step).
    func sendToHost(from agent: String, _ message: LuaValue) {
        held.hostSends.append((agent, message))
        if !held.stepping { commitHeld() }
    }

    /// Commits what handlers staged, then lets out what waited for it.
    func commitHeld() {
        var lost: MemoryCommitError?
        if held.remembered {
            held.remembered = false
            do throws(MemoryCommitError) { try store.memoryStore()?.commitStaged() } catch { lost = error }
        }
        var replies = held.replies, hostSends = held.hostSends
        held.replies.removeAll()
        held.hostSends.removeAll()
        if let lost { withhold(lost, &replies, &hostSends) }
        held.outboundMark = outbound.count
        // The host's messages first: a handler's progress reports come before its reply.
        if let inbox = options.hostInbox {
            for send in hostSends { inbox(send.from, send.message) }
        }
        for (waiter, result) in replies {
            switch (waiter, result) {
            case (.external(let c), .success(let v)): c.resume(returning: v.value)
            case (.external(let c), .failure(let e)): c.resume(throwing: e)
            case (.hostGroup(let group, let index), _): group.answer(index, result.map(\.value))
            case (.agent, _), (.group, _): break   // an agent's reply never waits for the host's turn
            }
        }
    }

    /// The step's memories were lost: what it would have let out that could say otherwise fails or
    /// is dropped, loudly.
    private func withhold(_ lost: MemoryCommitError, _ replies: inout [(waiter: PendingAsks.Waiter, result: Result<LuaValueBox, ReplyError>)],
                          _ hostSends: inout [(from: String, message: LuaValue)]) {
        let error = ReplyError(.notDurable, "node '\(name)' could not commit what its agents remembered (\(lost.reason)); the reply is withheld")
        var failed = 0, dropped = hostSends.count
        for i in replies.indices {
            if case .success = replies[i].result {
                replies[i].result = .failure(error)
                failed += 1
            }
        }
        hostSends.removeAll()
        let mark = min(held.outboundMark, outbound.count)
        var kept: [Envelope] = [], asks: [UInt64] = []
        for e in outbound[mark...] {
            switch e.kind {
            case .reply(let id, .success):
                kept.append(Envelope(from: e.from, to: e.to, kind: .reply(id: id, result: .failure(error)), payload: .nil))
                failed += 1
            case .reply:
                kept.append(e)
            case .ask(let id):
                asks.append(id)
                dropped += 1
            case .send:
                dropped += 1
            }
        }
        outbound.removeSubrange(mark...)
        outbound += kept
        for id in asks { deliverReply(id: id, result: .failure(error)) }
        logger.critical("""
            group commit failed: \(lost); \(failed) repl\(failed == 1 ? "y" : "ies") of this step failed with notDurable \
            and \(dropped) message(s) of it were dropped
            """)
    }
}
