public import Foundation
public import LoomCore

/// `bundle.toml`, a bundle's index: what it is, who published it, and every file with its size and
/// SHA-256. The index's exact bytes are what the publisher signs (`bundle.sig`), and their SHA-256
/// is the bundle's id. ``text`` writes them the same way every time: fixed key order, files sorted.
public struct BundleIndex: Sendable, Equatable {
    public struct Skill: Sendable, Equatable {
        public var name: String
        public var version: String
        /// The skill's folder inside the bundle (`skills/NAME`).
        public var path: String
        public var provides: [String]
        /// Lineage provenance: the node that defined the skill, then the nodes of the layers it
        /// extends, nearest first.
        public var lineage: [String]
        public init(name: String, version: String, path: String, provides: [String], lineage: [String]) {
            self.name = name
            self.version = version
            self.path = path
            self.provides = provides
            self.lineage = lineage
        }
    }

    public struct File: Sendable, Equatable {
        public var path: String
        public var size: Int
        public var sha256: String
        public init(path: String, size: Int, sha256: String) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    public static let format = 1
    public var name: String
    public var version: SemanticVersion
    public var created: Date
    public var publisher: String
    public var publisherKey: PublicKey
    /// The publisher's lineage (its ancestors, nearest first), for the installing node.
    public var publisherParents: [String]
    public var skills: [Skill]
    public var files: [File]

    public init(name: String, version: SemanticVersion, created: Date, publisher: String, publisherKey: PublicKey,
                publisherParents: [String], skills: [Skill], files: [File]) {
        self.name = name
        self.version = version
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))
        self.publisher = publisher
        self.publisherKey = publisherKey
        self.publisherParents = publisherParents
        self.skills = skills.sorted { $0.name < $1.name }
        self.files = files.sorted { $0.path < $1.path }
    }

    private static func quote(_ s: String) -> String { TOMLText.quoted(s) }

    private static func list(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ", ") + "]" }

    /// The canonical text.
    public var text: String { String(decoding: canonicalBytes(), as: UTF8.self) }

    public var bytes: Data { Data(canonicalBytes()) }

    private func canonicalBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(400 + files.count * 140 + skills.count * 160)
        func raw(_ s: String) { out.append(contentsOf: s.utf8) }
        func line(_ key: String, _ value: String) {
            raw(key)
            raw(" = ")
            if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5c && $0 != 0x7f }) {
                out.append(0x22); raw(value); out.append(0x22)
            } else {
                raw(Self.quote(value))
            }
            out.append(0x0a)
        }
        func list(_ key: String, _ items: [String]) { raw(key); raw(" = "); raw(Self.list(items)); out.append(0x0a) }
        raw("# bundle.toml: a Loom skill bundle's index, signed in bundle.sig. Do not edit.\n")
        raw("format = \(Self.format)\n")
        line("name", name)
        line("version", version.description)
        line("created", KeyStatement.timeText(created))
        line("publisher", publisher)
        line("publisher_key", publisherKey.text)
        list("publisher_parents", publisherParents)
        for s in skills {
            raw("\n[[skill]]\n")
            line("name", s.name)
            line("version", s.version)
            line("path", s.path)
            list("provides", s.provides)
            list("lineage", s.lineage)
        }
        for f in files {
            raw("\n[[file]]\n")
            line("path", f.path)
            raw("size = \(f.size)\n")
            line("sha256", f.sha256)
        }
        return out
    }

    /// The `publisher_key` line of an index's bytes, read without parsing the rest: the key the
    /// signature is checked with before anything else in the index is believed.
    static func signingKey(in bytes: Data) -> PublicKey? {
        let marker = Data("\npublisher_key = \"".utf8)
        guard let start = bytes.range(of: marker)?.upperBound,
              let end = bytes[start...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        return try? PublicKey(text: String(decoding: bytes[start..<end], as: UTF8.self))
    }

    /// Parses an index; `file` names it in errors. Only the canonical form ``text`` writes is
    /// accepted (the form that is signed), so one index has one byte sequence.
    public init(bytes: Data, file: String = "bundle.toml") throws(BundleError) {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw BundleError(.manifest, "\(file) is not UTF-8") }
        // The canonical form has one order of lines, so the parser reads them in that order.
        let utf8 = Array(bytes)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        while start < utf8.count {
            let end = utf8[start...].firstIndex(of: 0x0a) ?? utf8.count
            lines.append(utf8[start..<end])
            start = end + 1
        }
        var i = 0
        while i < lines.count, lines[i].first == UInt8(ascii: "#") { i += 1 }
        func bad(_ m: String) -> BundleError { BundleError(.manifest, "\(file):\(i): \(m)") }
        func next(_ key: String) throws(BundleError) -> Parsed {
            guard i < lines.count else { throw BundleError(.manifest, "\(file): '\(key)' is missing at the end") }
            let raw = lines[i]
            i += 1
            let k = key.utf8.count
            guard raw.count > k + 3, raw.starts(with: key.utf8), raw[raw.startIndex + k] == 0x20,
                  raw[raw.startIndex + k + 1] == 0x3d, raw[raw.startIndex + k + 2] == 0x20 else {
                throw bad("expected `\(key) = ...` here (bundle.toml is read in its canonical form; rebuild the bundle with loom bundle)")
            }
            return try Self.value(raw.dropFirst(k + 3), bad)
        }
        func string(_ key: String) throws(BundleError) -> String {
            guard case .string(let s) = try next(key) else { throw bad("'\(key)' must be a string") }
            return s
        }
        func list(_ key: String) throws(BundleError) -> [String] {
            guard case .list(let l) = try next(key) else { throw bad("'\(key)' must be a list of strings") }
            return l
        }
        func int(_ key: String) throws(BundleError) -> Int {
            guard case .int(let v) = try next(key) else { throw bad("'\(key)' must be an integer") }
            return v
        }
        guard try int("format") == Self.format else {
            throw BundleError(.manifest, "\(file): not an index in format \(Self.format), the one this Loom reads")
        }
        let name = try string("name")
        guard let version = SemanticVersion(try string("version")) else { throw bad("version is not a semantic version") }
        guard let created = KeyStatement.time(try string("created")) else { throw bad("created is not an RFC 3339 time") }
        let publisher = try string("publisher")
        let publisherKey = try PublicKey(text: try string("publisher_key"))
        let parents = try list("publisher_parents")
        var skillList: [Skill] = []
        var fileList: [File] = []
        let skillHeader = Array("[[skill]]".utf8), fileHeader = Array("[[file]]".utf8)
        while i < lines.count {
            if lines[i].isEmpty { i += 1; continue }
            if lines[i].elementsEqual(skillHeader) {
                i += 1
                skillList.append(Skill(name: try string("name"), version: try string("version"), path: try string("path"),
                                       provides: try list("provides"), lineage: try list("lineage")))
            } else if lines[i].elementsEqual(fileHeader) {
                i += 1
                let path = try string("path")
                let size = try int("size")
                let sha = try string("sha256")
                guard size >= 0 else { throw bad("size must not be negative") }
                guard sha.utf8.count == 64, sha.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
                    throw bad("sha256 must be 64 lower-case hex digits")
                }
                fileList.append(File(path: path, size: size, sha256: sha))
            } else {
                i += 1
                throw bad("expected [[skill]] or [[file]]")
            }
        }
        self.init(name: name, version: version, created: created, publisher: publisher, publisherKey: publisherKey,
                  publisherParents: parents, skills: skillList, files: fileList)
        guard self.bytes == bytes else {
            throw BundleError(.manifest, "\(file) is not in canonical form (keys in order, skills and files sorted, one way to write each value); rebuild the bundle with loom bundle")
        }
    }

    private enum Parsed { case string(String), int(Int), list([String]) }

    /// A value in the canonical form: a quoted string, an integer, or a list of quoted strings.
    private static func value(_ text: ArraySlice<UInt8>, _ bad: (String) -> BundleError) throws(BundleError) -> Parsed {
        var chars = text
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        func quoted() throws(BundleError) -> String {
            guard chars.first == quote else { throw bad("expected a quoted string") }
            chars = chars.dropFirst()
            // Most strings have no escape: take them whole.
            if let end = chars.firstIndex(where: { $0 == quote || $0 == backslash }), chars[end] == quote {
                let s = String(decoding: chars[chars.startIndex..<end], as: UTF8.self)
                chars = chars[(end + 1)...]
                return s
            }
            var out: [UInt8] = []
            while let c = chars.first {
                chars = chars.dropFirst()
                if c == quote { return String(decoding: out, as: UTF8.self) }
                if c == backslash {
                    guard let e = chars.first else { break }
                    chars = chars.dropFirst()
                    switch e {
                    case quote: out.append(quote)
                    case backslash: out.append(backslash)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard chars.count >= 4, let v = UInt32(String(decoding: chars.prefix(4), as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(v) else { throw bad("a bad \\u escape") }
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                        chars = chars.dropFirst(4)
                    default: throw bad("an unknown escape")
                    }
                } else {
                    out.append(c)
                }
            }
            throw bad("an unterminated string")
        }
        if chars.first == quote {
            let s = try quoted()
            guard chars.isEmpty else { throw bad("text after the string") }
            return .string(s)
        }
        if chars.first == UInt8(ascii: "[") {
            chars = chars.dropFirst()
            var items: [String] = []
            if chars.first == UInt8(ascii: "]") { chars = chars.dropFirst() } else {
                while true {
                    items.append(try quoted())
                    if chars.first == UInt8(ascii: "]") { chars = chars.dropFirst(); break }
                    guard chars.starts(with: [UInt8(ascii: ","), UInt8(ascii: " ")]) else { throw bad("expected `, ` or `]` in a list") }
                    chars = chars.dropFirst(2)
                }
            }
            guard chars.isEmpty else { throw bad("text after the list") }
            return .list(items)
        }
        guard let i = Int(String(decoding: chars, as: UTF8.self)) else { throw bad("expected a string, an integer or a list") }
        return .int(i)
    }
}
