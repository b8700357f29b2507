import Crypto
import Foundation
import LoomBundle
import LoomCore
import Testing

/// `loom verify` and `loom install` on hostile bundles (issue 14), as real processes: they end
/// fast, with status 1 and a message, never a hang or a crash.
@Suite("loom verify and install refuse hostile bundles")
struct BundleHardeningCommandTests {
    /// Runs `loom` and kills it after `seconds`; returns nil if it had to be killed.
    func run(_ args: [String], seconds: Double = 20) throws -> LoomProcess.Output? {
        let (process, out, err) = try LoomProcess.start(args)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return LoomProcess.Output(status: process.terminationStatus,
                                  stdout: String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                                  stderr: String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func refused(_ args: [String], _ words: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let out = try run(args)
        #expect(out != nil, "loom \(args.joined(separator: " ")) did not finish in 20 s", sourceLocation: sourceLocation)
        #expect(out?.status == 1 && out?.stderr.contains(words) == true,
                "loom \(args.joined(separator: " ")): status \(String(describing: out?.status)), \(out?.stderr ?? "")", sourceLocation: sourceLocation)
    }

    func temporary() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        return root
    }

    @Test("loom verify: a 2 KB archive whose deflate stream promises more than it holds ends at once", .timeLimit(.minutes(1)))
    func truncatedDeflate() throws {
        let root = try temporary()
        defer { try? FileManager.default.removeItem(at: root) }
        // A non-final stored deflate block that announces 65,535 bytes and holds 900 (a reader that
        // keeps asking for input at the end of the archive waits forever), and a cut stream.
        let stored = MiniZip.Entry(name: "bundle.toml", data: Data(count: 65_535), method: 8,
                                   payload: Data([0x00, 0xff, 0xff, 0x00, 0x00]) + Data(repeating: 0x61, count: 900))
        let text = Data(String(repeating: "hello, bundle\n", count: 80).utf8)
        let full = MiniZip.deflate(text)
        let cut = MiniZip.Entry(name: "bundle.toml", data: text, method: 8, payload: full.prefix(full.count / 2))
        for (i, entry) in [stored, cut].enumerated() {
            let zip = MiniZip.make([entry])
            #expect(zip.count < 2048)
            let file = root.appendingPathComponent("hang\(i).loombundle").path
            try zip.write(to: URL(fileURLWithPath: file))
            let start = Date()
            try refused(["verify", file], "ends before it is complete")
            #expect(Date().timeIntervalSince(start) < 20)
        }
    }

    @Test("loom verify: a local header offset past the end is refused, not a crash", .timeLimit(.minutes(1)))
    func offsetPastTheEnd() throws {
        let root = try temporary()
        defer { try? FileManager.default.removeItem(at: root) }
        for method in [0, 8] {
            let text = Data("x = 1\n".utf8)
            let zip = MiniZip.make([.init(name: "bundle.toml", data: text, method: method, localOffset: 0x7fff_0000)])
            let file = root.appendingPathComponent("crash\(method).loombundle").path
            try zip.write(to: URL(fileURLWithPath: file))
            try refused(["verify", file], "lies outside")
        }
    }

    /// A node `mentor` with a key, a node `apprentice` whose parent it is, and the mentor's
    /// honest bundle content to alter.
    func nodes(_ root: URL) throws -> (mentor: String, apprentice: String, contents: BundleReader.Contents) {
        let mentor = root.appendingPathComponent("mentor").path, apprentice = root.appendingPathComponent("far/apprentice").path
        for (dir, text) in [(mentor, "name = \"mentor\"\n"), (apprentice, "name = \"apprentice\"\nparents = [\"mentor\"]\n")] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try text.write(toFile: dir + "/node.toml", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: mentor + "/skills/greet", withIntermediateDirectories: true)
        try "name = \"greet\"\nversion = \"1.0.0\"\nprovides = [\"greet@1\"]\n".write(toFile: mentor + "/skills/greet/skill.toml", atomically: true, encoding: .utf8)
        try "return { hello = function(n) return 'hi ' .. n end }\n".write(toFile: mentor + "/skills/greet/init.lua", atomically: true, encoding: .utf8)
        try NodeIdentity.create(node: mentor)
        let file = root.appendingPathComponent("honest.loombundle").path
        var builder = BundleBuilder(node: mentor)
        builder.created = Date(timeIntervalSince1970: 1_700_000_000)
        try builder.build().bytes.write(to: URL(fileURLWithPath: file))
        return (mentor, apprentice, try BundleReader().read(file: file))
    }

    /// `contents` with `edit` applied, relisted, signed by `mentor`'s key, written to `name`.
    func signed(_ contents: BundleReader.Contents, mentor: String, root: URL, _ name: String,
                edit: (inout BundleIndex, inout [String: Data]) -> Void) throws -> String {
        var index = contents.index, files = contents.files
        edit(&index, &files)
        index.files = files.keys.sorted().map { BundleIndex.File(path: $0, size: files[$0]!.count, sha256: SHA256.hash(data: files[$0]!).map { String(format: "%02x", $0) }.joined()) }
        let bytes = index.bytes
        let sig = try NodeIdentity.load(node: mentor).sign(bytes)
        let zip = MiniZip.make([.init(name: "bundle.toml", data: bytes), .init(name: "bundle.sig", data: Data((sig.base64EncodedString() + "\n").utf8))]
                               + files.keys.sorted().map { .init(name: $0, data: files[$0]!) })
        let file = root.appendingPathComponent(name).path
        try zip.write(to: URL(fileURLWithPath: file))
        return file
    }

    @Test("loom install: an untrusted bundle's manifests are not parsed (a version range near Int.max)", .timeLimit(.minutes(1)))
    func untrustedManifestsAreNotParsed() throws {
        let root = try temporary()
        defer { try? FileManager.default.removeItem(at: root) }
        let (mentor, apprentice, contents) = try nodes(root)
        let file = try signed(contents, mentor: mentor, root: root, "range.loombundle") { _, files in
            files["skills/greet/skill.toml"] = Data("""
                name = "greet"
                version = "1.0.0"
                provides = ["greet@1"]
                requires = ["other@^9223372036854775807.0.0", "more@~9223372036854775807.9223372036854775807.0"]
                """.utf8)
        }
        try refused(["install", file, "--node", apprentice], "does not trust")
        try refused(["verify", file, "--node", apprentice], "does not trust")
        #expect(!FileManager.default.fileExists(atPath: apprentice + "/.loom/ancestors/mentor"))
    }

    @Test("loom install: a signed bundle named with '..' or a newline is refused, and nothing is written", .timeLimit(.minutes(1)))
    func badNames() throws {
        let root = try temporary()
        defer { try? FileManager.default.removeItem(at: root) }
        let (mentor, apprentice, contents) = try nodes(root)
        let key = try NodeIdentity.load(node: mentor).publicKey
        try TrustStore(node: apprentice).add(publisher: "mentor", key: key)
        for name in ["../../../escape", "x\"\nparents = [\"root\"]\n#"] {
            let file = try signed(contents, mentor: mentor, root: root, "named.loombundle") { index, _ in index.name = name }
            try refused(["install", file, "--node", apprentice], "bundle name")
        }
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("escape").path))
        #expect(!FileManager.default.fileExists(atPath: apprentice + "/.loom/ancestors/mentor"))
        // A root node.toml in the bundle is refused.
        let file = try signed(contents, mentor: mentor, root: root, "root.loombundle") { _, files in files["node.toml"] = Data("name = \"x\"\n".utf8) }
        try refused(["install", file, "--node", apprentice], "node.toml\" is refused")
        // The honest bundle installs.
        let ok = try run(["install", root.appendingPathComponent("honest.loombundle").path, "--node", apprentice])
        #expect(ok?.status == 0, "\(ok?.stderr ?? "killed")")
    }

    @Test("loom install: a failed install leaves no files, no link and no recorded version", .timeLimit(.minutes(1)))
    func failedInstallLeavesNothing() throws {
        let root = try temporary()
        defer { try? FileManager.default.removeItem(at: root) }
        let (mentor, apprentice, _) = try nodes(root)
        try TrustStore(node: apprentice).add(publisher: "mentor", key: try NodeIdentity.load(node: mentor).publicKey)
        // A file where the installer needs the folder of ancestors.
        try "x".write(toFile: apprentice + "/.loom/ancestors", atomically: true, encoding: .utf8)
        try refused(["install", root.appendingPathComponent("honest.loombundle").path, "--node", apprentice], "file-versus-folder clash")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: apprentice + "/.loom/bundles")) ?? []).isEmpty)
        #expect(try TrustStore(node: apprentice).highestVersion(name: "mentor-skills", publisher: "mentor") == nil)
        // Once the clash is gone, the same version with other content installs.
        try FileManager.default.removeItem(atPath: apprentice + "/.loom/ancestors")
        try "return { hello = function(n) return 'hello ' .. n end }\n".write(toFile: mentor + "/skills/greet/init.lua", atomically: true, encoding: .utf8)
        var builder = BundleBuilder(node: mentor)
        builder.created = Date(timeIntervalSince1970: 1_700_000_000)
        let other = root.appendingPathComponent("other.loombundle").path
        try builder.build().bytes.write(to: URL(fileURLWithPath: other))
        let ok = try run(["install", other, "--node", apprentice])
        #expect(ok?.status == 0, "\(ok?.stderr ?? "killed")")
    }
}

/// A minimal ZIP writer for the hostile archives of these tests.
enum MiniZip {
    struct Entry {
        var name: String
        var data: Data
        var method = 0
        var payload: Data? = nil
        var localOffset: Int? = nil
    }

    static func make(_ entries: [Entry]) -> Data {
        var out = Data(), central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(UInt8(v & 0xff)); d.append(UInt8((v >> 8) & 0xff)) }
        func u32(_ v: Int, _ d: inout Data) { u16(v & 0xffff, &d); u16((v >> 16) & 0xffff, &d) }
        for e in entries {
            let name = Data(e.name.utf8)
            let payload = e.payload ?? (e.method == 8 ? deflate(e.data) : e.data)
            let crc = crc32(e.data)
            let offset = e.localOffset ?? out.count
            u32(0x0403_4b50, &out); u16(20, &out); u16(0x0800, &out); u16(e.method, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(payload.count, &out); u32(e.data.count, &out); u16(name.count, &out); u16(0, &out)
            out.append(name); out.append(payload)
            u32(0x0201_4b50, &central); u16(0x031e, &central); u16(20, &central); u16(0x0800, &central); u16(e.method, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(payload.count, &central); u32(e.data.count, &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0o100644 << 16, &central); u32(offset, &central); central.append(name)
        }
        let cdOffset = out.count
        out.append(central)
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(central.count, &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }

    /// Raw deflate with fixed Huffman codes of literals only: valid, if not small.
    static func deflate(_ data: Data) -> Data {
        var out = Data(), bits = 0, count = 0
        func put(_ value: Int, _ n: Int) {
            bits |= value << count
            count += n
            while count >= 8 { out.append(UInt8(bits & 0xff)); bits >>= 8; count -= 8 }
        }
        func putReversed(_ code: Int, _ n: Int) {
            var r = 0
            for i in 0..<n where code & (1 << i) != 0 { r |= 1 << (n - 1 - i) }
            put(r, n)
        }
        put(1, 1); put(1, 2)   // final block, fixed Huffman
        for b in data {
            if b < 144 { putReversed(0x30 + Int(b), 8) } else { putReversed(0x190 + Int(b) - 144, 9) }
        }
        putReversed(0, 7)   // end of block
        if count > 0 { out.append(UInt8(bits & 0xff)) }
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
