import LoomWire
import SwiftProtobuf
import Synchronization

/// One node's stream at the hub: what waits to be written to it, and the wake-up of its writer.
///
/// Two things write to a node: acknowledgements and refusals for the frames it sent (the
/// *control* queue, at most one entry per frame read, and acks for one sender merged), and the
/// frames stored for it, which the writer reads from the store in arrival order. The writer is the
/// stream's only writer; it sleeps in ``wait()`` until ``notify()`` or ``close()``.
final class HubConnection: Sendable {
    let name: SenderName
    /// Distinguishes a node's connections, so a stream that was replaced does not unregister the new one.
    let serial: UInt64
    let key: [UInt8]

    private struct State {
        var control: [Loom_Hub_V1_HubMessage] = []
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }
    private let state = Mutex(State())

    init(name: SenderName, serial: UInt64, key: [UInt8]) {
        self.name = name
        self.serial = serial
        self.key = key
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Queues an acknowledgement of `sender`'s frames through `through` (merged with one queued).
    func ack(sender: String, through: UInt64) {
        var m = Loom_Hub_V1_HubMessage()
        m.ack = .with { $0.sender = sender; $0.through = through }
        push(m, mergingAckOf: sender)
    }

    func refuse(_ refusal: Loom_Hub_V1_Refusal) {
        var m = Loom_Hub_V1_HubMessage()
        m.refusal = refusal
        push(m, mergingAckOf: nil)
    }

    private func push(_ message: Loom_Hub_V1_HubMessage, mergingAckOf sender: String?) {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { s in
            guard !s.closed else { return nil }
            if let sender, case .ack(let last)? = s.control.last?.body, last.sender == sender {
                s.control[s.control.count - 1] = message
            } else {
                s.control.append(message)
            }
            s.signalled = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Something was stored for this node: the writer looks again.
    func notify() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { s in
            s.signalled = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// Ends the stream: the writer returns, and the handler with it.
    func close() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { s in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }

    /// The control messages queued so far; nil once closed.
    func takeControl() -> [Loom_Hub_V1_HubMessage]? {
        state.withLock { s in
            guard !s.closed else { return nil }
            s.signalled = false
            defer { s.control.removeAll(keepingCapacity: true) }
            return s.control
        }
    }

    /// Sleeps until ``notify()``, a control message or ``close()``; returns at once if one came
    /// since the last ``takeControl()``.
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.signalled || s.closed { return true }
                s.waiter = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}
