import Crypto
import Foundation
@testable import LoomBundle
import LoomCore
import LoomTesting
import ZIPFoundation

/// Temporary nodes with keys and skills, and hand-made ZIP archives for the hostile cases.
final class Workspace {
    let folder = TemporaryFolder(prefix: "loom-bundle")
    var root: String { folder.root }

    func write(_ path: String, _ text: String) throws { try folder.write(path, text) }

    func path(_ p: String) -> String { folder.path(p) }

    /// A publisher node `name` with skill `greet` (version `version`), and its key.
    @discardableResult
    func publisher(_ name: String = "parent", version: String = "1.0.0", body: String = "hello", permissions: String = "[]") throws -> String {
        try write("\(name)/node.toml", "name = \"\(name)\"\n")
        try write("\(name)/skills/greet/skill.toml", """
            name = "greet"
            version = "\(version)"
            description = "Greets"
            provides = ["greet@1"]
            permissions = \(permissions)
            """)
        try write("\(name)/skills/greet/init.lua", "return { hello = function(n) return '\(body) ' .. n end }\n")
        if !FileManager.default.fileExists(atPath: path("\(name)/.loom/identity/node.key")) { try NodeIdentity.create(node: path(name)) }
        return path(name)
    }

    /// A node `child` whose parent is `parent`, away from it (so only an installed ancestor serves).
    @discardableResult
    func child(parents: [String] = ["parent"]) throws -> String {
        try write("far/child/node.toml", "name = \"child\"\nparents = [\(parents.map { "\"\($0)\"" }.joined(separator: ", "))]\n")
        return path("far/child")
    }

    func bundle(_ node: String, version: String = "1.0.0", created: Date = Date(timeIntervalSince1970: 1_700_000_000)) throws -> Data {
        var b = BundleBuilder(node: node)
        b.version = SemanticVersion(version)!
        b.created = created
        return try b.build().bytes
    }

    func save(_ data: Data, _ name: String) throws -> String {
        let p = path(name)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }
}

/// A minimal ZIP writer for archives no honest tool would make: any name, any Unix file type,
/// stored or deflated entries, and every header field open to a lie.
enum RawZip {
    struct Entry {
        var name: String
        var data: Data
        /// Unix mode including the file type bits (0o100644 for a regular file).
        var mode: UInt32 = 0o100644
        /// 0 stored, 8 deflate (the data is deflated here unless `payload` is given), or any other.
        var method = 0
        /// The bytes written as the entry's data, instead of `data` (stored) or its deflation.
        var payload: Data? = nil
        var flags = 0x0800
        /// The uncompressed size the headers declare, instead of `data.count`.
        var declaredSize: Int? = nil
        var crc: Int? = nil
        var centralExtra = Data()
        var localExtra = Data()
        /// The local header offset the central directory gives, instead of the real one.
        var localOffset: Int? = nil
        /// Write no local header and no data (for entries pointing into another's bytes).
        var centralOnly = false

        init(name: String, data: Data, mode: UInt32 = 0o100644) {
            self.name = name
            self.data = data
            self.mode = mode
        }
    }

    static func make(_ entries: [Entry], count: Int? = nil) -> Data {
        var out = Data()
        var central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(UInt8(v & 0xff)); d.append(UInt8((v >> 8) & 0xff)) }
        func u32(_ v: Int, _ d: inout Data) { u16(v & 0xffff, &d); u16((v >> 16) & 0xffff, &d) }
        for e in entries {
            let name = Data(e.name.utf8)
            let crc = e.crc ?? crc32(e.data)
            let payload = e.payload ?? (e.method == 8 ? deflate(e.data) : e.data)
            let size = e.declaredSize ?? e.data.count
            let offset = e.localOffset ?? out.count
            if !e.centralOnly {
                u32(0x0403_4b50, &out); u16(20, &out); u16(e.flags, &out); u16(e.method, &out); u16(0, &out); u16(0x21, &out)
                u32(crc, &out); u32(payload.count, &out); u32(size, &out); u16(name.count, &out); u16(e.localExtra.count, &out)
                out.append(name); out.append(e.localExtra); out.append(payload)
            }
            u32(0x0201_4b50, &central); u16(0x031e, &central); u16(20, &central); u16(e.flags, &central); u16(e.method, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(payload.count, &central); u32(size, &central)
            u16(name.count, &central); u16(e.centralExtra.count, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(Int(e.mode) << 16, &central); u32(offset, &central); central.append(name); central.append(e.centralExtra)
        }
        let cdOffset = out.count
        out.append(central)
        // Past 65,535 entries the count does not fit: 0xFFFF, as ZIP64 writers put it.
        let count = count ?? min(entries.count, 0xffff)
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(count, &out); u16(count, &out)
        u32(central.count, &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    /// Raw deflate (no zlib header), as ZIP stores it.
    static func deflate(_ slice: Data) -> Data {
        let data = Data(slice)   // indices from 0
        var out = Data()
        _ = try? Data.compress(size: Int64(data.count), bufferSize: 1 << 16, provider: { position, size in
            data.subdata(in: Int(position)..<min(data.count, Int(position) + size))
        }, consumer: { out.append($0) })
        return out
    }

    /// The archive offsets of the end record and the central directory.
    static func layout(_ zip: Data) -> (eocd: Int, centralDirectory: Int) {
        var eocd = zip.count - 22
        while eocd > 0 && u32(zip, eocd) != 0x0605_4b50 { eocd -= 1 }
        return (eocd, u32(zip, eocd + 16))
    }

    static func u16(_ d: Data, _ o: Int) -> Int { Int(d[d.startIndex + o]) | Int(d[d.startIndex + o + 1]) << 8 }
    static func u32(_ d: Data, _ o: Int) -> Int { u16(d, o) | u16(d, o + 2) << 16 }
    static func set16(_ d: inout Data, _ o: Int, _ v: Int) { d[d.startIndex + o] = UInt8(v & 0xff); d[d.startIndex + o + 1] = UInt8((v >> 8) & 0xff) }
    static func set32(_ d: inout Data, _ o: Int, _ v: Int) { set16(&d, o, v & 0xffff); set16(&d, o + 2, (v >> 16) & 0xffff) }

    static func crc32(_ data: Data) -> Int {
        var crc: UInt32 = 0xffff_ffff
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return Int(crc ^ 0xffff_ffff)
    }
}

/// Bundles signed by a real key whose index or entries say what no honest builder writes.
struct SignedBundle {
    var index: BundleIndex
    var files: [String: Data]
    /// Entries added to the archive beside the listed files.
    var extra: [RawZip.Entry] = []

    /// The honest content of `node`'s bundle, to be altered.
    init(_ w: Workspace, node: String, version: String = "1.0.0") throws {
        let c = try BundleReader().read(data: try w.bundle(node, version: version), file: "honest")
        index = c.index
        files = c.files
    }

    /// Lists `files` in the index again (after edits), with their sizes and SHA-256.
    mutating func relist() {
        index.files = files.keys.sorted().map { BundleIndex.File(path: $0, size: files[$0]!.count, sha256: BundleBuilder.hex(SHA256.hash(data: files[$0]!))) }
    }

    /// The archive signed with `node`'s key (the index as it is; call relist() after editing files).
    func zip(signedBy node: String, method: Int = 0) throws -> Data {
        let bytes = index.bytes
        let sig = try NodeIdentity.load(node: node).sign(bytes)
        var entries: [RawZip.Entry] = [.init(name: "bundle.toml", data: bytes), .init(name: "bundle.sig", data: Data((sig.base64EncodedString() + "\n").utf8))]
        for (path, data) in files.sorted(by: { $0.key < $1.key }) {
            var e = RawZip.Entry(name: path, data: data)
            e.method = method
            entries.append(e)
        }
        return RawZip.make(entries + extra)
    }
}
