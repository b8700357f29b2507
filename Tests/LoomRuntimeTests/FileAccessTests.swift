import Foundation
@testable import LoomRuntime
import LuaKit
import Testing

@Suite struct FileAccessTests {
    final class Folder {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-fs-\(UUID().uuidString)").path
        init() throws {
            try write("tree/a.txt", "alpha")
            try write("tree/sub/b.txt", "beta")
            try write("outside/secret.txt", "secret")
        }
        func write(_ path: String, _ text: String) throws {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        func link(_ path: String, to target: String) throws {
            try FileManager.default.createSymbolicLink(atPath: root + "/" + path, withDestinationPath: target)
        }
        func access(_ limits: FileAccess.Limits = .init()) throws -> FileAccess {
            try FileAccess(roots: ["tree": root + "/tree"], limits: limits)
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    func refusal(_ body: () throws -> Void) -> String {
        do { try body() } catch let e as FileAccessError { return e.message } catch { return "unexpected \(error)" }
        return "not refused"
    }

    @Test func readsUnderTheRoot() throws {
        let f = try Folder()
        let fs = try f.access()
        #expect(try fs.read("tree/a.txt") == Array("alpha".utf8))
        #expect(try fs.read("tree/./sub/b.txt") == Array("beta".utf8))
        #expect(try fs.status("tree/sub").kind == .folder)
        #expect(try fs.hash("tree/a.txt") == "8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8")
    }

    @Test func dotDotIsRefused() throws {
        let fs = try Folder().access()
        #expect(refusal { _ = try fs.read("tree/../outside/secret.txt") }.contains("'..' is refused"))
        #expect(refusal { _ = try fs.read("tree/sub/../../outside/secret.txt") }.contains("'..' is refused"))
        #expect(refusal { _ = try fs.list("tree/..") }.contains("'..' is refused"))
    }

    @Test func absolutePathsBackslashesAndUnknownRootsAreRefused() throws {
        let f = try Folder()
        let fs = try f.access()
        #expect(refusal { _ = try fs.read(f.root + "/outside/secret.txt") }.contains("absolute paths are refused"))
        #expect(refusal { _ = try fs.read("tree\\..\\outside") }.contains("backslashes"))
        #expect(refusal { _ = try fs.read("tree/a.txt\u{0}") }.contains("NUL"))
        #expect(refusal { _ = try fs.read("outside/secret.txt") }.contains("no root named 'outside' (granted: tree)"))
        #expect(refusal { _ = try fs.read("") }.contains("empty path"))
    }

    @Test func symbolicLinksOutOfTheRootAreRefused() throws {
        let f = try Folder()
        try f.link("tree/escape.txt", to: f.root + "/outside/secret.txt")
        try f.link("tree/escape-dir", to: "../outside")
        try f.link("tree/inside.txt", to: "a.txt")
        let fs = try f.access()
        #expect(refusal { _ = try fs.read("tree/escape.txt") }.contains("symbolic link leads outside the root"))
        #expect(refusal { _ = try fs.read("tree/escape-dir/secret.txt") }.contains("symbolic link leads outside the root"))
        #expect(refusal { _ = try fs.list("tree/escape-dir") }.contains("symbolic link leads outside the root"))
        #expect(refusal { _ = try fs.hash("tree/escape.txt") }.contains("symbolic link leads outside the root"))
        #expect(try fs.read("tree/inside.txt") == Array("alpha".utf8))
        // Listings leave out links that escape, and links to folders.
        #expect(try fs.list("tree").map(\.path) == ["tree/a.txt", "tree/inside.txt", "tree/sub/b.txt"])
    }

    @Test func aRootThatIsALinkStillConfines() throws {
        let f = try Folder()
        try f.link("alias", to: f.root + "/tree")
        let fs = try FileAccess(roots: ["tree": f.root + "/alias"])
        #expect(try fs.read("tree/a.txt") == Array("alpha".utf8))
        #expect(refusal { _ = try fs.read("tree/../outside/secret.txt") }.contains("'..'"))
    }

    @Test func sizeLimitsHold() throws {
        let f = try Folder()
        try f.write("tree/big.txt", String(repeating: "x", count: 2000))
        var limits = FileAccess.Limits()
        limits.maxFileBytes = 1000
        limits.maxListEntries = 2
        let fs = try f.access(limits)
        #expect(refusal { _ = try fs.read("tree/big.txt") }.contains("is 2000 bytes; the limit is 1000"))
        #expect(refusal { _ = try fs.list("tree") }.contains("more than 2 files"))
        #expect(refusal { _ = try fs.read("tree/sub") }.contains("not a regular file"))
    }

    @Test func listingsSkipGitBuildAndIgnoredFiles() throws {
        let f = try Folder()
        try f.write("tree/.git/config", "x")
        try f.write("tree/.build/debug/x.o", "x")
        try f.write("tree/.build-release/y", "x")
        try f.write("tree/.gitignore", "# comment\n*.log\n/only-top.txt\nbuild/\n!keep.log\ndocs/**/gen-*.md\n")
        try f.write("tree/app.log", "x")
        try f.write("tree/keep.log", "x")
        try f.write("tree/only-top.txt", "x")
        try f.write("tree/sub/only-top.txt", "x")
        try f.write("tree/build/out.bin", "x")
        try f.write("tree/docs/a/b/gen-1.md", "x")
        try f.write("tree/docs/a/manual.md", "x")
        try f.write("tree/sub/.gitignore", "*.tmp\n")
        try f.write("tree/sub/c.tmp", "x")
        try f.write("tree/d.tmp", "x")
        let fs = try f.access()
        #expect(try fs.list("tree").map(\.path) == [
            "tree/.gitignore", "tree/a.txt", "tree/d.tmp", "tree/docs/a/manual.md", "tree/keep.log",
            "tree/sub/.gitignore", "tree/sub/b.txt", "tree/sub/only-top.txt",
        ])
        // Listing a sub-folder applies the .gitignore files above it.
        #expect(try fs.list("tree/sub").map(\.path) == ["tree/sub/.gitignore", "tree/sub/b.txt", "tree/sub/only-top.txt"])
    }

    @Test func gitignorePatterns() {
        let g = GitIgnore(text: "*.o\n/top\nlib/*.a\n**/cache\nfoo/**/bar\n[abc]x.txt\n!keep.o\ndir/\n")
        #expect(g.verdict("x.o", isDirectory: false) == true)
        #expect(g.verdict("deep/x.o", isDirectory: false) == true)
        #expect(g.verdict("keep.o", isDirectory: false) == false)
        #expect(g.verdict("top", isDirectory: false) == true)
        #expect(g.verdict("sub/top", isDirectory: false) == nil)
        #expect(g.verdict("lib/x.a", isDirectory: false) == true)
        #expect(g.verdict("lib/sub/x.a", isDirectory: false) == nil)
        #expect(g.verdict("a/b/cache", isDirectory: true) == true)
        #expect(g.verdict("foo/bar", isDirectory: false) == true)
        #expect(g.verdict("foo/a/b/bar", isDirectory: false) == true)
        #expect(g.verdict("bx.txt", isDirectory: false) == true)
        #expect(g.verdict("dx.txt", isDirectory: false) == nil)
        #expect(g.verdict("dir", isDirectory: true) == true)
        #expect(g.verdict("dir", isDirectory: false) == nil)
    }

    @Test func aMissingRootIsAClearError() {
        #expect(throws: FileAccessError.self) { try FileAccess(roots: ["tree": "/nonexistent/loom"]) }
        #expect(throws: FileAccessError.self) { try FileAccess(roots: ["a/b": "/tmp"]) }
    }

    @Test func theLuaAPIReturnsNilAndAMessage() async throws {
        let f = try Folder()
        let fixture = try NodeFixture(nodes: ["n": (parents: [], agents: [
            "reader": (uses: ["fs.read@1"], lua: """
                local fs = use("fs.read@1")
                function on_task(path)
                  local text, err = fs.read(path)
                  return text or err
                end
                """),
            "noperm": (uses: ["probe@1"], lua: """
                local probe = use("probe@1")
                function on_task() return probe.has_fs() end
                """),
        ], skills: ["probe": (toml: "name = \"probe\"\nversion = \"1.0.0\"\nprovides = [\"probe@1\"]\n",
                              lua: "return { has_fs = function() return fs ~= nil end }")])])
        var options = NodeOptions()
        options.fileRoots = ["tree": f.root + "/tree"]
        let node = try await start(fixture, options: options)
        #expect(try await node.ask("reader", "tree/a.txt").string == "alpha")
        #expect(try await node.ask("reader", "tree/../outside/secret.txt").string?.contains("fs.read: 'tree/../outside/secret.txt': '..' is refused") == true)
        #expect(try await node.ask("noperm", .nil) == .boolean(false))
        await node.shutdown()
    }

    @Test func nodeTomlGrantsRoots() async throws {
        let f = try Folder()
        let fixture = try NodeFixture(nodes: ["n": (parents: [], agents: [
            "reader": (uses: ["fs.read@1"], lua: "local fs = use('fs.read@1')\nfunction on_task(p) return fs.read(p) end\n"),
        ], skills: [:])])
        try fixture.write("n/node.toml", "name = \"n\"\n[fs.roots]\ntree = \"\(f.root)/tree\"\n")
        let node = try await start(fixture)
        #expect(try await node.ask("reader", "tree/sub/b.txt").string == "beta")
        await node.shutdown()
        try fixture.write("n/node.toml", "name = \"n\"\n[fs.roots]\n\"a/b\" = \"x\"\n")
        do {
            _ = try Node(directory: fixture.path("n"), directory: NodeDirectory())
            Issue.record("a bad root name was accepted")
        } catch {
            #expect("\(error)".contains("node.toml:3"))
            #expect("\(error)".contains("'a/b' is not a root name"))
        }
    }
}
