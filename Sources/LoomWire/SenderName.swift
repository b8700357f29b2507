/// A name on the hub: a node's name, or `node#session` for a tool that connects with the node's key
/// to ask or send once (`loom ask --as NODE`). A session is not stored for while it is away.
public struct SenderName: Sendable, Hashable, CustomStringConvertible {
    /// The node whose key signs (`alpha` for `alpha#cli-1f2e`).
    public let node: String
    /// The session, if any.
    public let session: String?

    public init?(_ text: String) {
        if let hash = text.firstIndex(of: "#") {
            let node = String(text[..<hash]), session = String(text[text.index(after: hash)...])
            guard Self.isName(node), !session.isEmpty, session.count <= 64,
                  session.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" })
            else { return nil }
            self.node = node
            self.session = session
        } else {
            guard Self.isName(text) else { return nil }
            node = text
            session = nil
        }
    }

    /// A node name as node.toml has it: letters, digits, `-` and `_`, up to 64 characters.
    public static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64 && text.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
    }

    public var isSession: Bool { session != nil }
    public var description: String { session.map { "\(node)#\($0)" } ?? node }
}
