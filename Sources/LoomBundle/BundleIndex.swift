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

    private static func quote(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5c && $0 != 0x7f }) { return "\"" + s + "\"" }
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 || c.value == 0x7f { out += String(format: "\\u%04X", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }

    private static func list(_ items: [String]) -> String { "[" + items.map(quote).joined(separator: ", ") + "]" }

    /// The canonical text.
    public var text: String {
        var t = "# bundle.toml: a Loom skill bundle's index, signed in bundle.sig. Do not edit.\n"
        t += "format = \(Self.format)\n"
        t += "name = \(Self.quote(name))\n"
        t += "version = \(Self.quote(version.description))\n"
        t += "created = \(Self.quote(KeyStatement.timeText(created)))\n"
        t += "publisher = \(Self.quote(publisher))\n"
        t += "publisher_key = \(Self.quote(publisherKey.text))\n"
        t += "publisher_parents = \(Self.list(publisherParents))\n"
        for s in skills {
            t += "\n[[skill]]\nname = \(Self.quote(s.name))\nversion = \(Self.quote(s.version))\npath = \(Self.quote(s.path))\n"
            t += "provides = \(Self.list(s.provides))\nlineage = \(Self.list(s.lineage))\n"
        }
        for f in files {
            t += "\n[[file]]\npath = \(Self.quote(f.path))\nsize = \(f.size)\nsha256 = \(Self.quote(f.sha256))\n"
        }
        return t
    }

    public var bytes: Data { Data(text.utf8) }

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
        func bad(_ line: Int, _ m: String) -> BundleError { BundleError(.manifest, "\(file):\(line): \(m)") }
        var top: [String: Parsed] = [:]
        var skills: [[String: Parsed]] = []
        var files: [[String: Parsed]] = []
        var section = 0   // 0 top, 1 skill, 2 file
        let utf8 = Array(bytes)
        var line = 0
        var lineStart = 0
        while lineStart < utf8.count {
            line += 1
            let lineEnd = utf8[lineStart...].firstIndex(of: 0x0a) ?? utf8.count
            let raw = utf8[lineStart..<lineEnd]
            lineStart = lineEnd + 1
            if raw.isEmpty || raw.first == UInt8(ascii: "#") { continue }
            if raw.elementsEqual("[[skill]]".utf8) { skills.append([:]); section = 1; continue }
            if raw.elementsEqual("[[file]]".utf8) { files.append([:]); section = 2; continue }
            guard let eq = Self.find(Array(" = ".utf8), in: raw) else { throw bad(line, "expected `key = value`") }
            let key = String(decoding: raw[raw.startIndex..<eq], as: UTF8.self)
            let parsed = try Self.value(raw[(eq + 3)...]) { bad(line, $0) }
            switch section {
            case 0: top[key] = parsed
            case 1: skills[skills.count - 1][key] = parsed
            default: files[files.count - 1][key] = parsed
            }
        }
        func string(_ t: [String: Parsed], _ key: String, _ what: String) throws(BundleError) -> String {
            guard case .string(let s)? = t[key] else { throw BundleError(.manifest, "\(file): \(what)'\(key)' is missing or not a string") }
            return s
        }
        func list(_ t: [String: Parsed], _ key: String, _ what: String) throws(BundleError) -> [String] {
            guard case .list(let l)? = t[key] else { throw BundleError(.manifest, "\(file): \(what)'\(key)' is missing or not a list") }
            return l
        }
        guard case .int(let format)? = top["format"], format == Self.format else {
            throw BundleError(.manifest, "\(file): not an index in format \(Self.format), the one this Loom reads")
        }
        guard let version = SemanticVersion(try string(top, "version", "")) else {
            throw BundleError(.manifest, "\(file): version is not a semantic version")
        }
        guard let created = KeyStatement.time(try string(top, "created", "")) else {
            throw BundleError(.manifest, "\(file): created is not an RFC 3339 time")
        }
        var skillList: [Skill] = []
        for (i, t) in skills.enumerated() {
            let what = "skill \(i + 1): "
            skillList.append(Skill(name: try string(t, "name", what), version: try string(t, "version", what), path: try string(t, "path", what),
                                   provides: try list(t, "provides", what), lineage: try list(t, "lineage", what)))
        }
        var fileList: [File] = []
        for (i, t) in files.enumerated() {
            let what = "file \(i + 1): "
            guard case .int(let size)? = t["size"], size >= 0 else { throw BundleError(.manifest, "\(file): \(what)size is missing or negative") }
            let sha = try string(t, "sha256", what)
            guard sha.utf8.count == 64, sha.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
                throw BundleError(.manifest, "\(file): \(what)sha256 must be 64 lower-case hex digits")
            }
            fileList.append(File(path: try string(t, "path", what), size: size, sha256: sha))
        }
        self.init(name: try string(top, "name", ""), version: version, created: created, publisher: try string(top, "publisher", ""),
                  publisherKey: try PublicKey(text: try string(top, "publisher_key", "")),
                  publisherParents: try list(top, "publisher_parents", ""), skills: skillList, files: fileList)
        guard self.bytes == bytes else {
            throw BundleError(.manifest, "\(file) is not in canonical form (keys in order, skills and files sorted, one way to write each value); rebuild the bundle with loom bundle")
        }
    }

    private enum Parsed { case string(String), int(Int), list([String]) }

    static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.startIndex
        while i + needle.count <= hay.endIndex {
            if hay[i] == needle[0] && hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// A value in the canonical form: a quoted string, an integer, or a list of quoted strings.
    private static func value(_ text: ArraySlice<UInt8>, _ bad: (String) -> BundleError) throws(BundleError) -> Parsed {
        var chars = text
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        func quoted() throws(BundleError) -> String {
            guard chars.first == quote else { throw bad("expected a quoted string") }
            chars = chars.dropFirst()
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
