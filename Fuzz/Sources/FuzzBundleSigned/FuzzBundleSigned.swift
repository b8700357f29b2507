// Fuzz target `bundle-signed`: a bundle any publisher could make, past the signature. A valid
// signature is not trust (trust is checked at install), so everything BundleReader does after it
// runs on a stranger's bytes too: the index parser on the canonical text, every listed file
// present with its size and SHA-256, nothing unlisted, key statements parsed and verified, each
// skill's manifest parsed and matched against the index, the manifest cache.
//
// The input is text: header lines `key=value` (name, publisher, parents (comma-separated),
// version, created (seconds), skill (`NAME VERSION PATH`, repeatable), drop (a path listed but left
// out of the archive), extra (a path in the archive but not listed)), then files, each
// starting with a line `@@ PATH`. The harness writes the index (sizes and SHA-256 computed),
// signs it with a fixed key, and zips it all stored, as BundleBuilder does.
import Crypto
import Foundation
import LoomBundle
import LoomCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let publisher = Publisher.shared else { fatalError("cannot make the fuzz publisher's key") }
    let input = SignedInput(text)
    let index = input.index(key: publisher.key)
    // What the builder writes, the reader must read back (paths on disk can hold any character).
    do {
        let again = try BundleIndex(bytes: index.bytes, file: "bundle.toml")
        precondition(again == index, "bundle.toml read back differs from the index written")
    } catch {
        preconditionFailure("an index the builder writes does not parse: \(error)")
    }
    let indexBytes = index.bytes
    guard let signature = try? publisher.identity.sign(indexBytes) else { fatalError("signing failed") }
    var entries: [(String, Data)] = [("bundle.toml", indexBytes), ("bundle.sig", Data((signature.base64EncodedString() + "\n").utf8))]
    for (path, content) in input.files where !input.dropped.contains(path) { entries.append((path, content)) }
    for path in input.extra { entries.append((path, Data("extra".utf8))) }
    let archive = StoredZip.make(entries)
    do {
        let contents = try BundleReader().read(data: archive, file: "fuzz.loombundle")
        for m in contents.manifests { _ = m.provides.map(\.description) }
        for s in contents.statements { _ = s.fileName }
    } catch {
        _ = error.description
    }
    return 0
}

/// A fixed publisher: a node folder in the temporary directory with a known key.
struct Publisher: Sendable {
    let identity: NodeIdentity
    var key: PublicKey { identity.publicKey }

    static let shared: Publisher? = {
        let node = FileManager.default.temporaryDirectory.appendingPathComponent("loom-fuzz-publisher-\(getpid())").path
        let identityFolder = node + "/.loom/identity"
        do {
            try FileManager.default.createDirectory(atPath: identityFolder, withIntermediateDirectories: true)
            try "name = \"fuzz\"\n".write(toFile: node + "/node.toml", atomically: true, encoding: .utf8)
            let seed = Data((0..<32).map { UInt8($0 &* 7 &+ 1) })
            let keyFile = identityFolder + "/node.key"
            try "ed25519-private:\(seed.base64EncodedString())\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
            _ = chmod(keyFile, 0o600)
            let identity = try NodeIdentity.load(node: node)
            try? FileManager.default.removeItem(atPath: node)
            return Publisher(identity: identity)
        } catch {
            return nil
        }
    }()
}

/// The parsed fuzz input.
struct SignedInput {
    var header: [(String, String)] = []
    var files: [(String, Data)] = []
    var dropped: Set<String> = []
    var extra: [String] = []

    init(_ text: String) {
        var current: (String, [Substring])?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("@@ ") {
                if let (path, lines) = current { files.append((path, Data(lines.joined(separator: "\n").utf8))) }
                current = (String(line.dropFirst(3)), [])
            } else if current != nil {
                current!.1.append(line)
            } else if let eq = line.firstIndex(of: "=") {
                let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
                switch key {
                case "drop": dropped.insert(value)
                case "extra": extra.append(value)
                default: header.append((key, value))
                }
            }
        }
        if let (path, lines) = current { files.append((path, Data(lines.joined(separator: "\n").utf8))) }
    }

    func value(_ key: String) -> String? { header.last { $0.0 == key }?.1 }

    func index(key: PublicKey) -> BundleIndex {
        var skills: [BundleIndex.Skill] = []
        let publisher = value("publisher") ?? "fuzz"
        for (path, content) in files {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "skills", parts[2] == "skill.toml" else { continue }
            // The version line of the manifest, if it has one.
            let text = String(decoding: content, as: UTF8.self)
            var version = "1.0.0"
            for line in text.split(separator: "\n") where line.hasPrefix("version = \"") {
                version = String(line.dropFirst(11).prefix { $0 != "\"" })
            }
            skills.append(BundleIndex.Skill(name: String(parts[1]), version: version, path: "skills/\(parts[1])",
                                            provides: [], lineage: [publisher]))
        }
        for (key, value) in header where key == "skill" {
            let words = value.split(separator: " ", maxSplits: 2).map(String.init)
            skills.append(BundleIndex.Skill(name: words.first ?? "", version: words.count > 1 ? words[1] : "1.0.0",
                                            path: words.count > 2 ? words[2] : "", provides: [], lineage: []))
        }
        var seen: Set<String> = []
        var listed: [BundleIndex.File] = []
        for (path, content) in files where seen.insert(path).inserted {
            listed.append(BundleIndex.File(path: path, size: content.count, sha256: Hex.sha256(content)))
        }
        let created = value("created").flatMap(Double.init).flatMap { $0.isFinite && abs($0) < 1e11 ? $0 : nil } ?? 1_700_000_000
        return BundleIndex(name: value("name") ?? "fuzz-skills",
                           version: value("version").flatMap(SemanticVersion.init) ?? SemanticVersion(1, 0, 0),
                           created: Date(timeIntervalSince1970: created), publisher: publisher, publisherKey: key,
                           publisherParents: value("parents").map { $0.split(separator: ",").map(String.init) } ?? [],
                           skills: skills, files: listed)
    }
}

enum Hex {
    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}

/// A ZIP of stored entries, in order, mode 0644, as BundleBuilder writes one.
enum StoredZip {
    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: Data) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = crcTable[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func make(_ entries: [(String, Data)]) -> Data {
        var out = Data(), central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(UInt8(v & 0xff)); d.append(UInt8((v >> 8) & 0xff)) }
        func u32(_ v: Int, _ d: inout Data) { u16(v & 0xffff, &d); u16((v >> 16) & 0xffff, &d) }
        for (path, data) in entries {
            let name = Data(path.utf8.prefix(0xffff))
            let crc = Int(crc32(data))
            let offset = out.count
            u32(0x0403_4b50, &out); u16(20, &out); u16(0x0800, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(data.count, &out); u32(data.count, &out); u16(name.count, &out); u16(0, &out)
            out.append(name); out.append(data)
            u32(0x0201_4b50, &central); u16(0x031e, &central); u16(20, &central); u16(0x0800, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(data.count, &central); u32(data.count, &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0o100644 << 16, &central); u32(offset, &central)
            central.append(name)
        }
        let start = out.count
        out.append(central)
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(central.count, &out); u32(start, &out); u16(0, &out)
        return out
    }
}
