import Logging
import LuaKit

/// Deliveries between nodes: envelopes posted onto this node from other nodes (of this process, or
/// through the hub), and this node's envelopes for other nodes, sent after each turn.
extension Node {
    /// Sends messages for nodes that are not in this process to `route` (the hub link) from now on.
    package func route(remote route: (any RemoteNodes)?) {
        remote = route
    }

    /// Envelopes from another node (of this process, or through the hub), posted onto this node's
    /// queue: no task, no hop through the cooperative pool, and in the order they were posted.
    package nonisolated func post(_ envelopes: [Envelope]) {
        executor.post { [self] in
            assumeIsolated { $0.deliver(envelopes) }
        }
    }

    /// Envelopes from another node of the process.
    func deliver(_ envelopes: [Envelope]) {
        guard !closed else {
            // Another node sent these before it saw this one go: asks get an error, sends a warning.
            let (replies, dropped) = Envelope.undeliverable(envelopes, ReplyError(.shutDown, "node '\(name)' shut down"))
            if dropped > 0 { engine.logger.warning("\(dropped) message(s) from other nodes arrived after shutdown and were dropped") }
            returnToSenders(replies)
            return
        }
        for e in envelopes {
            if case .failure(let error) = engine.enqueue(e), case .ask(let id) = e.kind {
                _ = engine.enqueue(Envelope(from: e.to, to: e.from, kind: .reply(id: id, result: .failure(error)), payload: .nil))
            }
        }
        runNow()
    }

    /// Replies from a node that has shut down, sent straight to the asking nodes.
    private func returnToSenders(_ replies: [Envelope]) {
        guard !replies.isEmpty else { return }
        for (node, envelopes) in Dictionary(grouping: replies, by: { $0.to.node }) {
            directory.node(node)?.post(envelopes)
        }
    }

    /// Posts the messages for other nodes of the process onto their queues, grouped by node in
    /// the order they were sent.
    func sendOutbound() {
        guard !engine.outbound.isEmpty else { return }
        let batch = engine.outbound
        engine.outbound.removeAll()
        var byNode: [String: [Envelope]] = [:]
        var order: [String] = []
        for e in batch {
            if byNode[e.to.node] == nil { order.append(e.to.node) }
            byNode[e.to.node, default: []].append(e)
        }
        for nodeName in order {
            let envelopes = byNode[nodeName]!
            if let other = directory.node(nodeName) {
                other.post(envelopes)
            } else if let remote {
                remote.forward(envelopes)
            } else {
                let (replies, dropped) = Envelope.undeliverable(envelopes, ReplyError(.noNode, "no node '\(nodeName)' in this process"))
                for reply in replies { _ = engine.enqueue(reply) }
                // A send has nobody to tell: it is not dropped silently.
                if dropped > 0 { engine.logger.warning("\(dropped) message(s) to node '\(nodeName)' dropped: no such node in this process (stopped, or never started)") }
            }
        }
    }
}
