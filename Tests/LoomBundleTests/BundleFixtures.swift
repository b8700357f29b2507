import Foundation
@testable import LoomBundle
import LoomCore

/// Temporary nodes with keys and skills, and hand-made ZIP archives for the hostile cases.
final class Workspace {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bundle-\(UUID().uuidString)").path

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func path(_ p: String) -> String { root + "/" + p }

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
/// stored entries.
enum RawZip {
    struct Entry {
        var name: String
        var data: Data
        /// Unix mode including the file type bits (0o100644 for a regular file).
        var mode: UInt32 = 0o100644
    }

    static func make(_ entries: [Entry]) -> Data {
        var out = Data()
        var central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(UInt8(v & 0xff)); d.append(UInt8((v >> 8) & 0xff)) }
        func u32(_ v: Int, _ d: inout Data) { u16(v & 0xffff, &d); u16((v >> 16) & 0xffff, &d) }
        for e in entries {
            let name = Data(e.name.utf8)
            let crc = crc32(e.data)
            let offset = out.count
            u32(0x0403_4b50, &out); u16(20, &out); u16(0x0800, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(e.data.count, &out); u32(e.data.count, &out); u16(name.count, &out); u16(0, &out)
            out.append(name); out.append(e.data)
            u32(0x0201_4b50, &central); u16(0x031e, &central); u16(20, &central); u16(0x0800, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(e.data.count, &central); u32(e.data.count, &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(Int(e.mode) << 16, &central); u32(offset, &central); central.append(name)
        }
        let cdOffset = out.count
        out.append(central)
        // Past 65,535 entries the count does not fit: 0xFFFF, as ZIP64 writers put it.
        let count = min(entries.count, 0xffff)
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(count, &out); u16(count, &out)
        u32(central.count, &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    static func crc32(_ data: Data) -> Int {
        var crc: UInt32 = 0xffff_ffff
        for b in data {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return Int(crc ^ 0xffff_ffff)
    }
}
