// Fuzz target `bundle`: bytes -> everything a node runs on a bundle's untrusted bytes before the
// signature holds: the archive scan (end of central directory, central directory, entry names and
// types, local headers of stored entries), extraction (stored slices and ZIPFoundation's inflate
// under the size and ratio caps), bundle.sig decoding, the publisher_key line and the signature
// check. The same bytes also go to the index parser and the key statement parser directly, which
// run on bytes a valid signature covers (any publisher can sign; trust comes later), and to the
// version-independent helpers of a parsed index.
import Foundation
import LoomBundle
import LoomCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let reader = BundleReader()
    do {
        let contents = try reader.read(data: bytes, file: "fuzz.loombundle")
        _ = contents.id
    } catch {
        _ = error.description
    }
    if let index = try? BundleIndex(bytes: bytes, file: "bundle.toml") {
        // A parsed index writes back the same bytes (the parser checks it), and says what it holds.
        precondition(index.bytes == bytes, "a parsed bundle index does not write back its own bytes")
        _ = index.publisherKey.fingerprint
        _ = index.text
    }
    if let statement = try? KeyStatement(text: String(decoding: bytes, as: UTF8.self), file: "keys/fuzz") {
        _ = try? statement.verify()
        _ = statement.fileName
        _ = statement.text
    }
    return 0
}

/// `LOOM_FUZZ_MAKE_SEED=FILE FuzzBundle` writes a real bundle to FILE and exits: a node with one
/// skill in a temporary folder, a fresh key, and BundleBuilder, the code behind `loom bundle`
/// (Fuzz/corpus/bundle/real-bundle was made so).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    guard let out = ProcessInfo.processInfo.environment["LOOM_FUZZ_MAKE_SEED"] else { return 0 }
    let node = FileManager.default.temporaryDirectory.appendingPathComponent("loom-fuzz-seed-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: node) }
    do {
        let files = [
            "node.toml": "name = \"parent\"\n",
            "skills/greet/skill.toml": "name = \"greet\"\nversion = \"1.0.0\"\ndescription = \"Greets\"\nprovides = [\"greet@1\"]\npermissions = []\n",
            "skills/greet/init.lua": "return { hello = function(n) return 'hello ' .. n end }\n",
            "skills/greet/data/words.txt": "hello\nworld\n",
        ]
        for (path, text) in files {
            let full = node + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try NodeIdentity.create(node: node)
        var builder = BundleBuilder(node: node)
        builder.created = Date(timeIntervalSince1970: 1_700_000_000)
        try builder.build().bytes.write(to: URL(fileURLWithPath: out))
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("cannot make the seed bundle: \(error)\n".utf8))
        exit(1)
    }
}
