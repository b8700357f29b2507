import Foundation
@testable import LoomCore
import LoomTesting
import Testing

/// Manifests and files built to break the reader: bytes that are not UTF-8, NULs, folders where
/// files belong, paths out of their folder, numbers out of range.
@Suite("Hostile manifests")
struct HostileManifestTests {
    /// Writes raw bytes at `relative` under the tree.
    static func write(_ bytes: [UInt8], _ relative: String, in tree: TemporaryFolder) throws {
        try tree.write(relative, bytes: bytes)
    }

    static func diagnostics(_ body: () throws -> Void) -> [Diagnostic] {
        do {
            try body()
            return []
        } catch let error as ManifestError {
            return error.diagnostics
        } catch {
            Issue.record("not a ManifestError: \(error)")
            return []
        }
    }

    @Test("invalid UTF-8 is refused with its line and column, not replaced", arguments: ["node.toml", "skill.toml", "agent.toml", "loom.lock"])
    func invalidUTF8(file: String) throws {
        let tree = try TemporaryFolder(["x/init.lua": "", "x/agent.lua": ""])
        try Self.write(Array("name = \"n\"\ndescription = \"caf".utf8) + [0xE9] + Array("\"\n".utf8), "x/\(file)", in: tree)
        let d = Self.diagnostics {
            switch file {
            case "node.toml": _ = try NodeManifest.load(directory: tree.path("x"))
            case "skill.toml": _ = try SkillManifest.load(directory: tree.path("x"))
            case "agent.toml": _ = try AgentManifest.load(directory: tree.path("x"))
            default: _ = try LockFile.load(file: tree.path("x/loom.lock"))
            }
        }
        #expect(d.count == 1)
        #expect(d.first?.kind == .encoding)
        #expect(d.first?.line == 2 && d.first?.column == 19, "\(d)")
        #expect(d.first?.message.contains("not valid UTF-8") == true)
        #expect(d.first?.description.contains("x/\(file):2:19: error: not valid UTF-8 (byte 0xE9)") == true, "\(d)")
    }

    @Test("a NUL byte, or a \\u0000 escape, is refused: TOMLKit would cut the name there")
    func nul() throws {
        let tree = try TemporaryFolder([:])
        try Self.write(Array("name = \"good\"\n# a comment".utf8) + [0] + Array("\nparents = [\"x\"]\n".utf8), "a/node.toml", in: tree)
        let raw = Self.diagnostics { _ = try NodeManifest.load(directory: tree.path("a")) }
        #expect(raw.map(\.kind) == [.encoding])
        #expect(raw.first?.line == 2 && raw.first?.column == 12, "\(raw)")
        for text in ["name = \"ab\\u0000cd\"\n", "name = \"ab\\U00000000\"\n", "\"na\\u0000me\" = \"n\"\nname = \"n\"\n",
                     "name = \"n\"\ndescription = \"\"\"\nx \\u0000\n\"\"\"\n"] {
            let d = Self.diagnostics { _ = try NodeManifest.parse(text: text, file: "n/node.toml", directory: "n") }
            #expect(d.map(\.kind) == [.encoding], "\(text): \(d)")
            #expect(d.first?.message.contains("NUL") == true)
        }
        // Not an escape: in a literal string or a comment, or an escaped backslash.
        for text in ["name = \"n\"\nhub = 'http://a\\u0000'\n", "name = \"n\" # \\u0000\n", "name = \"n\"\nhub = \"http://a\\\\u0000\"\n"] {
            let d = Self.diagnostics { _ = try NodeManifest.parse(text: text, file: "n/node.toml", directory: "n") }
            #expect(d.isEmpty, "\(text): \(d)")
        }
    }

    @Test("a byte-order mark is dropped; CRLF lines keep their positions")
    func bomAndCRLF() throws {
        let tree = try TemporaryFolder([:])
        try Self.write([0xEF, 0xBB, 0xBF] + Array("name = \"n\"\r\nparents = []\r\n".utf8), "a/node.toml", in: tree)
        #expect(try NodeManifest.load(directory: tree.path("a")).name == "n")
        let d = Self.diagnostics {
            _ = try NodeManifest.parse(text: "name = \"n\"\r\n\r\nparnets = []\r\n", file: "n/node.toml", directory: "n")
        }
        #expect(d.first?.line == 3, "\(d)")
    }

    @Test("a folder where a manifest belongs is named as such, not as missing")
    func folderForFile() throws {
        let tree = try TemporaryFolder(["a/node.toml/x": "", "b/skill.toml/x": "", "c/loom.lock/x": ""])
        let node = Self.diagnostics { _ = try NodeManifest.load(directory: tree.path("a")) }
        #expect(node.map(\.kind) == [.notAFile])
        #expect(node.first?.message == "the node manifest is a folder, not a file", "\(node)")
        #expect(Self.diagnostics { _ = try SkillManifest.load(directory: tree.path("b")) }.map(\.kind) == [.notAFile])
        #expect(Self.diagnostics { _ = try LockFile.load(file: tree.path("c/loom.lock")) }.map(\.kind) == [.notAFile])
        let missing = Self.diagnostics { _ = try NodeManifest.load(directory: tree.path("nowhere")) }
        #expect(missing.map(\.kind) == [.missing])
        #expect(missing.first?.message.contains("does not exist") == true)
        // loom check reports the folders too.
        let checked = ManifestChecker().check(path: tree.root)
        #expect(checked.filter { $0.kind == .notAFile }.count == 3, "\(checked)")
    }

    @Test("skills and agents paths that are files are named as such")
    func skillsIsAFile() throws {
        let tree = try TemporaryFolder(["n/node.toml": "name = \"n\"\n", "n/skills": "not a folder", "n/agents": ""])
        let d = Self.diagnostics { _ = try NodeLoader().load(directory: tree.path("n")) }
        #expect(d.map(\.kind) == [.notAFile, .notAFile], "\(d)")
        #expect(d.first?.message.contains("skills 'skills' is a file, not a folder") == true)
    }

    @Test("a manifest over the size limit is refused before it is parsed", .timeLimit(.minutes(1)))
    func huge() throws {
        let tree = try TemporaryFolder([:])
        var bytes = Array("name = \"n\"\n".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "#"), count: ManifestText.maxBytes)
        try Self.write(bytes, "a/node.toml", in: tree)
        let d = Self.diagnostics { _ = try NodeManifest.load(directory: tree.path("a")) }
        #expect(d.map(\.kind) == [.tooLarge])
    }

    @Test("deep nesting, duplicate keys and control characters in keys are diagnostics", .timeLimit(.minutes(1)))
    func nestingAndKeys() throws {
        let deep = "name = \"n\"\nx = " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        #expect(Self.diagnostics { _ = try NodeManifest.parse(text: deep, file: "n/node.toml", directory: "n") }.map(\.kind) == [.syntax])
        let dotted = "name = \"n\"\n[" + Array(repeating: "a", count: 50_000).joined(separator: ".") + "]\n"
        #expect(Self.diagnostics { _ = try NodeManifest.parse(text: dotted, file: "n/node.toml", directory: "n") }.map(\.kind) == [.tooLarge])
        let dottedKey = "name = \"n\"\n" + Array(repeating: "1", count: 50_000).joined(separator: ".") + " = 1.5\n"
        #expect(Self.diagnostics { _ = try NodeManifest.parse(text: dottedKey, file: "n/node.toml", directory: "n") }.map(\.kind) == [.tooLarge])
        let inline = "name = \"n\"\nx = [{a = 1.5, " + Array(repeating: "b", count: 50_000).joined(separator: ".") + " = 2}]\n"
        #expect(Self.diagnostics { _ = try NodeManifest.parse(text: inline, file: "n/node.toml", directory: "n") }.map(\.kind) == [.tooLarge])
        // Dots in values are not nesting.
        let values = "name = \"n\"\nhub = \"http://x\"\n[memory]\nweight_text = 1.5\n[lineage]\npaths = [" + Array(repeating: "\"a.b.c\"", count: 200).joined(separator: ", ") + "]\n"
        #expect(Self.diagnostics { _ = try NodeManifest.parse(text: values, file: "n/node.toml", directory: "n") }.isEmpty)
        let twice = "name = \"n\"\nname = \"m\"\n"
        #expect(Self.diagnostics { _ = try NodeManifest.parse(text: twice, file: "n/node.toml", directory: "n") }.map(\.kind) == [.syntax])
        let control = "name = \"n\"\n\"evil\\u001b[31m\" = 1\n"
        let d = Self.diagnostics { _ = try NodeManifest.parse(text: control, file: "n/node.toml", directory: "n") }
        #expect(d.count == 1)
        #expect(!d[0].description.contains("\u{1b}"), "\(d)")
        #expect(d[0].description.contains("evil\\u{1b}[31m"))
    }

    @Test("entry and behaviour must name a file inside their folder", arguments: [
        ("../../x.lua", "leaves the skill's folder"), ("/etc/passwd", "is an absolute path"), ("a/../../x.lua", "leaves the skill's folder"),
        ("", "is empty"), (".", "leaves the skill's folder"),
    ])
    func entryOutside(entry: String, why: String) throws {
        let text = "name = \"s\"\nversion = \"1.0.0\"\nentry = \"\(entry)\"\n"
        let d = Self.diagnostics { _ = try SkillManifest.parse(text: text, file: "s/skill.toml", directory: "s") { _ in true } }
        #expect(d.map(\.kind) == [.outsideFolder], "\(d)")
        #expect(d.first?.line == 3)
        #expect(d.first?.message.contains(why) == true, "\(d)")
        let agent = "name = \"a\"\nbehaviour = \"\(entry)\"\n"
        let a = Self.diagnostics { _ = try AgentManifest.parse(text: agent, file: "a/agent.toml", directory: "a") { _ in true } }
        #expect(a.map(\.kind) == [.outsideFolder], "\(a)")
        #expect(a.first?.line == 2)
    }

    @Test("an entry that is a symbolic link out of the folder, or a folder, is refused; links inside are fine")
    func entrySymlink() throws {
        let tree = try TemporaryFolder(["outside.lua": "return {}", "s/skill.toml": "name = \"s\"\nversion = \"1.0.0\"\n",
                                 "t/skill.toml": "name = \"t\"\nversion = \"1.0.0\"\nentry = \"lib\"\n", "t/lib/x.lua": "",
                                 "u/skill.toml": "name = \"u\"\nversion = \"1.0.0\"\nentry = \"main.lua\"\n", "u/real.lua": "",
                                 "v/skill.toml": "name = \"v\"\nversion = \"1.0.0\"\nentry = \"sub/init.lua\"\n", "v/other/init.lua": ""])
        try FileManager.default.createSymbolicLink(atPath: tree.path("s/init.lua"), withDestinationPath: tree.path("outside.lua"))
        try FileManager.default.createSymbolicLink(atPath: tree.path("u/main.lua"), withDestinationPath: "real.lua")
        try FileManager.default.createSymbolicLink(atPath: tree.path("v/sub"), withDestinationPath: "..")
        let s = Self.diagnostics { _ = try SkillManifest.load(directory: tree.path("s")) }
        #expect(s.map(\.kind) == [.outsideFolder], "\(s)")
        #expect(s.first?.message.contains("symbolic link") == true)
        let t = Self.diagnostics { _ = try SkillManifest.load(directory: tree.path("t")) }
        #expect(t.map(\.kind) == [.notAFile], "\(t)")
        #expect(try SkillManifest.load(directory: tree.path("u")).entry == "main.lua")
        // sub -> .. : v/sub/init.lua is v/../init.lua, outside v (and missing); v/sub/other... would be inside.
        let v = Self.diagnostics { _ = try SkillManifest.load(directory: tree.path("v")) }
        #expect(v.count == 1, "\(v)")
    }

    @Test("huge numbers in [memory] and [limits] are range diagnostics with positions", arguments: [
        "consolidate_every = 1e300", "consolidate_every = 9223372036854775807", "consolidate_every = -1", "consolidate_every = nan",
        "consolidate_every = inf", "weight_text = 1e308", "half_life_days = 1e20",
    ])
    func memoryNumbers(line: String) throws {
        let text = "name = \"n\"\n[memory]\n\(line)\n"
        let d = Self.diagnostics { _ = try NodeManifest.parse(text: text, file: "n/node.toml", directory: "n") }
        #expect(d.map(\.kind) == [.outOfRange], "\(d)")
        #expect(d.first?.line == 3)
    }

    @Test("skill limits: out of range, negative, floats and integers TOML cannot hold", arguments: [
        ("memory = 9223372036854775807", Diagnostic.Kind.outOfRange), ("timeout_ms = 9223372036854775807", .outOfRange),
        ("instructions = -5", .outOfRange), ("memory = 0", .outOfRange), ("memory = 1e30", .invalid),
        ("instructions = 99999999999999999999", .syntax),
    ])
    func limits(line: String, kind: Diagnostic.Kind) throws {
        let text = "name = \"s\"\nversion = \"1.0.0\"\n[limits]\n\(line)\n"
        let d = Self.diagnostics { _ = try SkillManifest.parse(text: text, file: "s/skill.toml", directory: "s") { _ in true } }
        #expect(d.map(\.kind) == [kind], "\(d)")
        #expect(d.first?.line == 4)
    }

    @Test("ranges at Int.max parse in manifests; a version past it is refused as too large")
    func versionsInManifests() throws {
        let ok = "name = \"s\"\nversion = \"9223372036854775807.9223372036854775807.9223372036854775807\"\n"
            + "provides = [\"s@9223372036854775807\"]\nrequires = [\"x@9223372036854775807 ^9223372036854775807\", \"y@1 >1.9223372036854775807\"]\n"
        let s = try SkillManifest.parse(text: ok, file: "s/skill.toml", directory: "s") { _ in true }
        #expect(s.requires.count == 2)
        let bad = "name = \"s\"\nversion = \"9223372036854775808.0.0\"\n"
        let d = Self.diagnostics { _ = try SkillManifest.parse(text: bad, file: "s/skill.toml", directory: "s") { _ in true } }
        #expect(d.first?.message.contains("larger than") == true, "\(d)")
    }

    @Test("a damaged loom.lock names the entry and the problem")
    func damagedLock() throws {
        let lock = """
            version = 1
            node = "n"

            [[capability]]
            name = "a@1"
            skill = "../../etc"
            version = "1.0.0"
            node = "n"
            hash = "sha256:00"
            """
        let d = Self.diagnostics { _ = try LockFile.parse(text: lock, file: "loom.lock") }
        #expect(d.count == 1, "\(d)")
        #expect(d.first?.message.contains("skill '../../etc' is not a skill name") == true)
        #expect(d.first?.message.contains("hash 'sha256:00'") == true)
        #expect(d.first?.line == 5)
    }

    @Test("names with '/', '..' and a parent named like its child are refused")
    func names() throws {
        for text in ["name = \"../x\"\n", "name = \"a/b\"\n", "name = \"n\"\nparents = [\"..\"]\n", "name = \"n\"\nparents = [\"n\"]\n"] {
            let d = Self.diagnostics { _ = try NodeManifest.parse(text: text, file: "n/node.toml", directory: "n") }
            #expect(d.count == 1, "\(text): \(d)")
        }
    }
}
