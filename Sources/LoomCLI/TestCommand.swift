import ArgumentParser
import Foundation
import LoomAuthoring
import LoomRuntime

/// `loom test [PATH...]`: Lua tests in the real host.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run Lua tests (*_test.lua and tests/*.lua) inside the real sandboxed host.",
        discussion: """
            Tests use busted's API: describe, it, pending, before_each, after_each, and assert.equals, \
            same, truthy, falsy, error, matches. A test inside a node runs in that node (a temporary \
            database, real memory and messaging, its skills with their permissions); a skill outside \
            any node runs in a temporary node of its own. Exit code 1 when a test fails.
            """
    )

    @Argument(help: "Test files, or skill, agent or node folders to search (default: the current folder).")
    var paths: [String] = []

    @Option(help: "Run only the tests whose full name contains this text.")
    var filter: String?

    @Flag(help: "Print TAP (version 13) instead of the summary.")
    var tap = false

    @Option(help: "Also write a JUnit XML report to this file.")
    var junit: String?

    @Flag(help: "Fail, naming each difference, when a test's node's loom.lock is missing or differs from what resolution gives now.")
    var locked = false

    @Option(help: "The deadline of each test, in seconds.")
    var timeout: Double = 5

    func validate() throws {
        try Seconds.check(timeout, flag: "--timeout", in: 0...Seconds.max)
    }

    func run() async throws {
        let files: [TestRunner.TestFile]
        do { files = try TestRunner.discover(paths.isEmpty ? ["."] : paths) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        guard !files.isEmpty else {
            printError("error: no test files (*_test.lua or tests/*.lua) under \(paths.isEmpty ? "." : paths.joined(separator: ", "))")
            throw ExitCode(1)
        }
        var runner = TestRunner()
        runner.filter = filter
        runner.timeout = Seconds.duration(timeout)
        runner.locked = locked
        let here = FileManager.default.currentDirectoryPath + "/"
        @Sendable func shown(_ path: String) -> String { path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path }
        let tap = self.tap
        let results = await runner.run(files) { r in
            guard !tap else { return }
            switch r.status {
            case .passed: print("✔ \(r.name) (\(Int(r.seconds * 1000)) ms)")
            case .pending: print("- \(r.name) (pending)")
            case .failed:
                print("✘ \(r.name)")
                print("    \(shown(r.file)):\(r.line)")
                for line in r.message.split(separator: "\n", omittingEmptySubsequences: false) { print("    \(line)") }
                if !r.traceback.isEmpty {
                    print("    stack traceback:")
                    for line in r.traceback.split(separator: "\n") { print("    \(line)") }
                }
            }
        }
        let failed = results.filter { $0.status == .failed }.count
        let pending = results.filter { $0.status == .pending }.count
        if tap {
            print(Self.tap(results, shown: shown))
        } else {
            print("\(results.count - failed - pending) passed, \(failed) failed, \(pending) pending, in \(files.count) file\(files.count == 1 ? "" : "s")")
        }
        if let junit {
            do { try Self.junit(results, shown: shown).write(toFile: junit, atomically: true, encoding: .utf8) } catch {
                printError("error: cannot write \(junit): \(error)")
                throw ExitCode(1)
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }

    static func tap(_ results: [TestRunner.Result], shown: (String) -> String) -> String {
        var out = ["TAP version 13", "1..\(results.count)"]
        for (i, r) in results.enumerated() {
            let name = r.name.replacingOccurrences(of: "#", with: "\\#")
            switch r.status {
            case .passed: out.append("ok \(i + 1) - \(name)")
            case .pending: out.append("ok \(i + 1) - \(name) # SKIP pending")
            case .failed:
                out.append("not ok \(i + 1) - \(name)")
                out.append("  ---")
                out.append("  at: \(yaml("\(shown(r.file)):\(r.line)"))")
                out.append("  message: \(yaml(r.message))")
                out.append("  ...")
            }
        }
        return out.joined(separator: "\n")
    }

    /// A YAML double-quoted scalar.
    static func yaml(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }

    static func xml(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 allows tab, newline, carriage return and scalars from U+0020.
                if c.value >= 0x20 || c == "\t" || c == "\n" || c == "\r" { out.unicodeScalars.append(c) } else { out += "?" }
            }
        }
        return out
    }

    static func junit(_ results: [TestRunner.Result], shown: (String) -> String) -> String {
        var files: [String] = []
        for r in results where !files.contains(r.file) { files.append(r.file) }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let failures = results.filter { $0.status == .failed }.count
        let skipped = results.filter { $0.status == .pending }.count
        out += "<testsuites name=\"loom test\" tests=\"\(results.count)\" failures=\"\(failures)\" skipped=\"\(skipped)\">\n"
        for file in files {
            let rs = results.filter { $0.file == file }
            let time = rs.reduce(0) { $0 + $1.seconds }
            out += "  <testsuite name=\"\(xml(shown(file)))\" tests=\"\(rs.count)\" failures=\"\(rs.filter { $0.status == .failed }.count)\" "
                + "skipped=\"\(rs.filter { $0.status == .pending }.count)\" time=\"\(String(format: "%.3f", time))\">\n"
            for r in rs {
                out += "    <testcase classname=\"\(xml(shown(file)))\" name=\"\(xml(r.name))\" file=\"\(xml(shown(file)))\" line=\"\(r.line)\" time=\"\(String(format: "%.3f", r.seconds))\""
                switch r.status {
                case .passed: out += "/>\n"
                case .pending: out += ">\n      <skipped/>\n    </testcase>\n"
                case .failed:
                    out += ">\n      <failure message=\"\(xml(r.message))\">\(xml(shown(r.file) + ":\(r.line)\n" + r.message + "\n" + r.traceback))</failure>\n    </testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }
}
