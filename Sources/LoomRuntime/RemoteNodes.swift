/// Where a node's messages for nodes outside its process go: the hub link (LoomHubClient).
///
/// ``forward(_:)`` is called on the node's queue with the envelopes of one turn for one node, in
/// the order they were sent; it must not block. What cannot be sent comes back as failure replies
/// posted to the node (``Node/post(_:)``).
package protocol RemoteNodes: Sendable {
    func forward(_ envelopes: [Envelope])
}
