public import Foundation
import LoomCore
import Glibc

/// A signed statement about a node's key: a **rotation** (the old key hands over to a new one,
/// signed by both) or a **revocation** (signed by the revoked key itself).
///
/// The signed bytes are the statement's body: the lines `kind`, `node`, `key`, `new_key` (for a
/// rotation) and `time`, in that order, each `name = "value"` and a newline. The file adds
/// `signature` (and `new_signature`) lines after the body.
public struct KeyStatement: Sendable, Equatable {
    public enum Kind: String, Sendable { case rotation, revocation }

    public var kind: Kind
    public var node: String
    public var key: PublicKey
    public var newKey: PublicKey?
    public var time: Date
    public var signature = Data()
    public var newSignature = Data()

    public init(kind: Kind, node: String, key: PublicKey, newKey: PublicKey?, time: Date) {
        self.kind = kind
        self.node = node
        self.key = key
        self.newKey = newKey
        // Whole seconds: the text form has no fractions.
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds): the one form Loom writes and reads.
    static func timeText(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
    }

    static func time(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 20, b[4] == 0x2d, b[7] == 0x2d, b[10] == 0x54, b[13] == 0x3a, b[16] == 0x3a, b[19] == 0x5a else { return nil }
        func number(_ r: Range<Int>) -> Int32? {
            var v: Int32 = 0
            for i in r {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int32(b[i] - 0x30)
            }
            return v
        }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
              let mi = number(14..<16), let se = number(17..<19), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = y - 1900; tm.tm_mon = mo - 1; tm.tm_mday = d; tm.tm_hour = h; tm.tm_min = mi; tm.tm_sec = se
        let t = timegm(&tm)
        // timegm normalises impossible dates (February 30th); such a text is not canonical.
        guard timeText(Date(timeIntervalSince1970: Double(t))) == text else { return nil }
        return Date(timeIntervalSince1970: Double(t))
    }

    public var body: Data {
        var text = "kind = \"\(kind.rawValue)\"\nnode = \"\(node)\"\nkey = \"\(key.text)\"\n"
        if let newKey { text += "new_key = \"\(newKey.text)\"\n" }
        text += "time = \"\(Self.timeText(time))\"\n"
        return Data(text.utf8)
    }

    public var text: String {
        var t = String(decoding: body, as: UTF8.self) + "signature = \"\(signature.base64EncodedString())\"\n"
        if kind == .rotation { t += "new_signature = \"\(newSignature.base64EncodedString())\"\n" }
        return t
    }

    /// Parses a statement file; its signatures are checked by ``verify()``.
    public init(text: String, file: String = "statement") throws(BundleError) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let eq = line.firstIndex(of: "="),
                  case let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces),
                  value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 else {
                throw BundleError(.manifest, "\(file): '\(line.prefix(60))' is not `name = \"value\"`")
            }
            fields[line[..<eq].trimmingCharacters(in: .whitespaces)] = String(value.dropFirst().dropLast())
        }
        func field(_ name: String) throws(BundleError) -> String {
            guard let v = fields[name] else { throw BundleError(.manifest, "\(file): '\(name)' is missing") }
            return v
        }
        guard let kind = Kind(rawValue: try field("kind")) else {
            throw BundleError(.manifest, "\(file): kind must be \"rotation\" or \"revocation\"")
        }
        guard let time = Self.time(try field("time")) else {
            throw BundleError(.manifest, "\(file): time must be an RFC 3339 time such as 2026-11-25T10:00:00Z")
        }
        self.init(kind: kind, node: try field("node"), key: try PublicKey(text: try field("key")),
                  newKey: kind == .rotation ? try PublicKey(text: try field("new_key")) : nil, time: time)
        signature = try SignatureText.decode(try field("signature"), what: "\(file): signature")
        if kind == .rotation { newSignature = try SignatureText.decode(try field("new_signature"), what: "\(file): new_signature") }
    }

    /// Checks the signatures: a rotation needs both the old and the new key's; a revocation the
    /// revoked key's own.
    public func verify() throws(BundleError) {
        guard key.isValidSignature(signature, for: body) else {
            throw BundleError(.signature, "the \(kind.rawValue) of \(node)'s key \(key.fingerprint) is not signed by that key")
        }
        if kind == .rotation {
            guard let newKey, newKey.isValidSignature(newSignature, for: body) else {
                throw BundleError(.signature, "the rotation of \(node)'s key \(key.fingerprint) is not signed by the new key")
            }
        }
    }

    /// The file name it is kept under: time, kind and the key's fingerprint.
    public var fileName: String {
        "\(Int(time.timeIntervalSince1970))-\(kind.rawValue)-\(key.fingerprint.replacingOccurrences(of: ":", with: "")).toml"
    }

    func save(in node: String) throws(BundleError) {
        let dir = Paths.join(NodeIdentity.folder(of: node), "statements")
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: Paths.join(dir, fileName), atomically: true, encoding: .utf8)
        } catch { throw BundleError(.io, "cannot write the statement in \(dir): \(FileErrors.describe(error))") }
    }
}
