public import Foundation
public import LoomCore
import TOMLKit

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
        guard let text = String(data: bytes, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("publisher_key = \"") && line.hasSuffix("\"") {
            return try? PublicKey(text: String(line.dropFirst(17).dropLast()))
        }
        return nil
    }

    /// Parses an index; `file` names it in errors.
    public init(bytes: Data, file: String = "bundle.toml") throws(BundleError) {
        guard let text = String(data: bytes, encoding: .utf8) else { throw BundleError(.manifest, "\(file) is not UTF-8") }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch { throw BundleError(.manifest, "\(file): \(error)") }
        func string(_ t: TOMLTable, _ key: String, _ what: String) throws(BundleError) -> String {
            guard let v = t[key]?.string else { throw BundleError(.manifest, "\(file): \(what)'\(key)' is missing or not a string") }
            return v
        }
        func strings(_ t: TOMLTable, _ key: String, _ what: String) throws(BundleError) -> [String] {
            guard let a = t[key]?.array else { throw BundleError(.manifest, "\(file): \(what)'\(key)' is missing or not a list") }
            var out: [String] = []
            for v in a {
                guard let s = v.string else { throw BundleError(.manifest, "\(file): \(what)'\(key)' holds a non-string") }
                out.append(s)
            }
            return out
        }
        guard table["format"]?.int == Self.format else {
            throw BundleError(.manifest, "\(file): format \(table["format"]?.int.map(String.init) ?? "?") is not one this Loom reads (\(Self.format))")
        }
        guard let version = SemanticVersion(try string(table, "version", "")) else {
            throw BundleError(.manifest, "\(file): version is not a semantic version")
        }
        guard let created = KeyStatement.time(try string(table, "created", "")) else {
            throw BundleError(.manifest, "\(file): created is not an RFC 3339 time")
        }
        var skills: [Skill] = []
        for (i, v) in (table["skill"]?.array ?? []).enumerated() {
            guard let t = v.table else { throw BundleError(.manifest, "\(file): skill \(i + 1) is not a table") }
            let what = "skill \(i + 1): "
            skills.append(Skill(name: try string(t, "name", what), version: try string(t, "version", what), path: try string(t, "path", what),
                                provides: try strings(t, "provides", what), lineage: try strings(t, "lineage", what)))
        }
        var files: [File] = []
        for (i, v) in (table["file"]?.array ?? []).enumerated() {
            guard let t = v.table, let size = t["size"]?.int, size >= 0 else {
                throw BundleError(.manifest, "\(file): file \(i + 1) needs a path, a size and a sha256")
            }
            let what = "file \(i + 1): "
            let sha = try string(t, "sha256", what)
            guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw BundleError(.manifest, "\(file): \(what)sha256 must be 64 lower-case hex digits")
            }
            files.append(File(path: try string(t, "path", what), size: size, sha256: sha))
        }
        self.init(name: try string(table, "name", ""), version: version, created: created, publisher: try string(table, "publisher", ""),
                  publisherKey: try PublicKey(text: try string(table, "publisher_key", "")),
                  publisherParents: try strings(table, "publisher_parents", ""), skills: skills, files: files)
    }
}
