import Foundation
import LoomBundle
import LoomCore
import Testing

@Suite("loom keys, bundle, trust, verify, install")
struct BundleCommandTests {
    /// Copies of Examples/mentor and Examples/remote/apprentice, without keys or state.
    func exchange() throws -> (root: URL, mentor: String, apprentice: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("loom-exchange-\(UUID().uuidString)")
        for path in ["mentor", "remote/apprentice"] {
            let to = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: LoomProcess.packageRoot.appendingPathComponent("Examples/" + path), to: to)
            try? FileManager.default.removeItem(at: to.appendingPathComponent(".loom"))
        }
        return (root, root.appendingPathComponent("mentor").path, root.appendingPathComponent("remote/apprentice").path)
    }

    @discardableResult
    func loom(_ args: [String], status: Int32 = 0) throws -> LoomProcess.Output {
        let out = try LoomProcess.run(args)
        #expect(out.status == status, "loom \(args.joined(separator: " ")): \(out.stderr)")
        return out
    }

    @Test("two nodes exchange a bundle end to end, and the child runs the inherited skill through super")
    func endToEnd() throws {
        let (root, mentor, apprentice) = try exchange()
        defer { try? FileManager.default.removeItem(at: root) }
        // Before the install, the apprentice cannot find its ancestor.
        let before = try loom(["run", apprentice, "--task", "Ada", "--to", "herald"], status: 1)
        #expect(before.stderr.contains("mentor"))
        try loom(["keys", "init", mentor])
        let key = try loom(["keys", "show", mentor]).stdout.split(separator: "\n")[0]
        let file = root.appendingPathComponent("mentor.loombundle").path
        try loom(["bundle", mentor, "-o", file])
        let again = root.appendingPathComponent("again.loombundle").path
        try loom(["bundle", mentor, "-o", again])
        #expect(FileManager.default.contents(atPath: file) == FileManager.default.contents(atPath: again))
        #expect(try loom(["verify", file]).stdout.contains("ok: mentor-skills 1.0.0 from 'mentor'"))
        let untrusted = try loom(["verify", file, "--node", apprentice], status: 1)
        #expect(untrusted.stderr.contains("which this node does not trust"))
        try loom(["trust", "add", apprentice, "mentor", String(key)])
        #expect(try loom(["trust", "list", apprentice]).stdout.contains("mentor"))
        #expect(try loom(["verify", file, "--node", apprentice]).stdout.contains("(lineage)"))
        let installed = try loom(["install", file, "--node", apprentice])
        #expect(installed.stdout.contains("installed mentor-skills 1.0.0 from 'mentor' (lineage)"))
        #expect(try loom(["lineage", apprentice]).stdout.contains("mentor"))
        let reply = try loom(["run", apprentice, "--task", "Ada", "--to", "herald"])
        #expect(reply.stdout == "GOOD DAY, ADA.!\n")
        // An edited installed file is refused at load.
        let installedInit = apprentice + "/.loom/ancestors/mentor/skills/greet/init.lua"
        try "return { hello = function() return 'pwned' end }".write(toFile: installedInit, atomically: false, encoding: .utf8)
        let edited = try loom(["run", apprentice, "--task", "Ada", "--to", "herald"], status: 1)
        #expect(edited.stderr.contains("was changed after installation"))
        // So are lineage, why and resolve: an edited bundle's manifests are not read.
        for command in [["lineage", apprentice], ["why", apprentice, "greet@1"], ["resolve", apprentice]] {
            let r = try loom(command, status: 1)
            #expect(r.stderr.contains("was changed after installation"), "\(command): \(r.stderr)")
        }
    }

    @Test("a SIGKILL at any point of an install leaves exactly the old or the new installation")
    func sigkillDuringInstall() throws {
        let (root, mentor, apprentice) = try exchange()
        defer { try? FileManager.default.removeItem(at: root) }
        try loom(["keys", "init", mentor])
        let key = try loom(["keys", "show", mentor]).stdout.split(separator: "\n")[0]
        try loom(["trust", "add", apprentice, "mentor", String(key)])
        var files: [String] = []
        var ids: Set<String> = []
        for (i, body) in ["Good day", "Good evening"].enumerated() {
            let lua = "local M = {}\nfunction M.hello(n) return '\(body), ' .. n .. '.' end\nreturn M\n"
            try lua.write(toFile: mentor + "/skills/greet/init.lua", atomically: true, encoding: .utf8)
            let file = root.appendingPathComponent("v\(i).loombundle").path
            try loom(["bundle", mentor, "-o", file, "--version", "1.0.\(i)"])
            files.append(file)
            ids.insert(try BundleReader().read(file: file).id)
        }
        try loom(["install", files[0], "--node", apprentice])
        let link = apprentice + "/.loom/ancestors/mentor"
        var generator = SystemRandomNumberGenerator()
        var killed = 0
        for round in 0..<40 {
            let (process, _, _) = try LoomProcess.start(["install", files[round % 2 == 0 ? 1 : 0], "--node", apprentice, "--allow-downgrade"])
            Thread.sleep(forTimeInterval: Double(UInt64.random(in: 0...40, using: &generator)) / 1000)
            if process.isRunning { killed += 1 }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Exactly one complete installation: the link names one of the two bundles, and it
            // passes the load-time check.
            let target = try FileManager.default.destinationOfSymbolicLink(atPath: link)
            #expect(ids.contains((target as NSString).lastPathComponent), "round \(round): \(target)")
            #expect(throws: Never.self) { try InstalledBundles.check(node: apprentice) }
            #expect(try NodeLoader().lineage(of: apprentice).order == ["apprentice", "mentor"])
        }
        // A later install cleans what the kills left.
        try loom(["install", files[1], "--node", apprentice, "--allow-downgrade"])
        let bundles = try FileManager.default.contentsOfDirectory(atPath: apprentice + "/.loom/bundles")
        #expect(bundles.allSatisfy { !$0.contains(".partial-") })
        #expect(bundles.count == 1)
        let reply = try loom(["run", apprentice, "--task", "Ada", "--to", "herald"])
        #expect(reply.stdout == "GOOD EVENING, ADA.!\n")
        print("sigkill rounds: \(killed) of 40 killed while running")
    }

    @Test("bad input: a missing file, a non-bundle, an unknown skill, a bad key")
    func badInput() throws {
        let (root, mentor, apprentice) = try exchange()
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(try loom(["verify", "/nonexistent.loombundle"], status: 1).stderr.contains("does not exist"))
        let junk = root.appendingPathComponent("junk.loombundle").path
        try "not a zip".write(toFile: junk, atomically: true, encoding: .utf8)
        #expect(try loom(["verify", junk], status: 1).stderr.contains("not a ZIP archive"))
        #expect(try loom(["bundle", mentor], status: 1).stderr.contains("loom keys init"))
        try loom(["keys", "init", mentor])
        #expect(try loom(["keys", "init", mentor], status: 1).stderr.contains("exists already"))
        #expect(try loom(["bundle", mentor, "--skills", "nope"], status: 1).stderr.contains("has no skill 'nope'"))
        #expect(try loom(["trust", "add", apprentice, "mentor", "ed25519:short"], status: 1).stderr.contains("is not a public key"))
        #expect(try loom(["trust", "add", apprentice, "mentor", "ed25519:c2hvcnQ="], status: 1).stderr.contains("32 bytes"))
        #expect(try loom(["trust", "remove", apprentice, "mentor"], status: 1).stderr.contains("does not trust 'mentor'"))
    }
}
