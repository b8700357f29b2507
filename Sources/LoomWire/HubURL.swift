/// Where a hub listens: `http://HOST:PORT` (a URL, as node.toml's `hub` and `--hub` take it) or
/// `HOST:PORT` (as `loom hub serve --listen` takes it).
public struct HubURL: Sendable, Hashable, CustomStringConvertible {
    public static let defaultPort = 7420

    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `http://host:port` or `host:port`; the error says what form is expected.
    public init(_ text: String) throws(HubError) {
        var rest = Substring(text)
        if rest.hasPrefix("https://") {
            throw HubError(.badAddress, "'\(text)': the hub speaks plain HTTP/2 (frames are signed, not encrypted); use http://")
        }
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":") else {
            guard !rest.isEmpty else { throw HubError(.badAddress, "'\(text)' is not a hub address; expected http://HOST:PORT") }
            self.init(host: String(rest), port: Self.defaultPort)
            return
        }
        let host = rest[..<colon], portText = rest[rest.index(after: colon)...]
        guard !host.isEmpty, !host.contains("/"), let port = Int(portText), (0...65535).contains(port) else {
            throw HubError(.badAddress, "'\(text)' is not a hub address; expected http://HOST:PORT, such as http://127.0.0.1:\(Self.defaultPort)")
        }
        self.init(host: String(host), port: port)
    }

    public var description: String { "http://\(host):\(port)" }
}
