import Foundation
import Logging
import LoomCore
import LoomRuntime
import LuaKit

/// `loom test`: finds `*_test.lua` files (and `tests/*.lua`) and runs them in the real host.
///
/// A test file inside a node runs in that node, loaded from its folder with a temporary database:
/// its skills with their effective permissions, its agents (reachable with `ask` and `send`), real
/// memory. A test file of a skill outside any node (the standard `Skills/`) runs in a temporary
/// node holding that skills folder. The tests run in an agent the runner adds, `__test`, which
/// uses the host capabilities and each capability the lineage's skills provide that resolves
/// (tried one by one, so a skill the constitution refuses only makes its own `use` fail); each test
/// is one ask, under the deadline ``timeout``.
public struct TestRunner: Sendable {
    public enum Status: String, Sendable { case passed, failed, pending }

    public struct Result: Sendable {
        public var file: String
        public var name: String
        public var line: Int
        public var status: Status
        public var message: String
        public var traceback: String
        public var seconds: Double
    }

    /// A test file and where it runs: a node folder, or a folder of skills.
    public struct TestFile: Sendable, Equatable {
        public var path: String
        public var node: String?
        public var skills: String?
    }

    public var filter: String?
    /// The deadline of each test (and of loading a test file).
    public var timeout: Duration = .seconds(5)
    /// Fail a node whose loom.lock differs from its resolution (`loom test --locked`).
    public var locked = false

    public init() {}

    /// The test files under `paths` (files or folders), sorted, with where each runs.
    public static func discover(_ paths: [String]) throws -> [TestFile] {
        var found: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw TestRunnerError(.noSuchPath, "\(path) does not exist; give test files, or skill, agent or node folders")
            }
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            if !isFolder.boolValue {
                found.append(absolute)
                continue
            }
            guard let walker = FileManager.default.enumerator(atPath: absolute) else { continue }
            while let relative = walker.nextObject() as? String {
                let name = Paths.name(relative)
                if name.hasPrefix(".") && name != "." {
                    walker.skipDescendants()
                    continue
                }
                let parent = Paths.name(Paths.parent(relative))
                if name.hasSuffix("_test.lua") || (parent == "tests" && name.hasSuffix(".lua")) {
                    found.append(absolute + "/" + relative)
                }
            }
        }
        return Array(Set(found)).sorted().map(context)
    }

    /// Where a test file runs: the nearest folder above it with a node.toml, else the folder of
    /// skills that holds its skill.
    static func context(_ file: String) -> TestFile {
        var dir = Paths.parent(file)
        var skill: String?
        while dir != "/" && !dir.isEmpty {
            if FileManager.default.fileExists(atPath: dir + "/node.toml") { return TestFile(path: file, node: dir, skills: nil) }
            if skill == nil && FileManager.default.fileExists(atPath: dir + "/skill.toml") { skill = dir }
            dir = Paths.parent(dir)
        }
        return TestFile(path: file, node: nil, skills: skill.map { Paths.parent($0) })
    }

    /// Runs every file; `report` sees each result as it comes.
    public func run(_ files: [TestFile], report: @Sendable (Result) -> Void = { _ in }) async -> [Result] {
        var results: [Result] = []
        for file in files {
            for r in await run(file) {
                report(r)
                results.append(r)
            }
        }
        return results
    }

    private func failure(_ file: TestFile, _ message: String, line: Int = 0) -> Result {
        Result(file: file.path, name: "(loading the file)", line: line, status: .failed, message: message, traceback: "", seconds: 0)
    }

    func run(_ file: TestFile) async -> [Result] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let nodeDir: String
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            if let node = file.node {
                nodeDir = node
            } else {
                nodeDir = scratch + "/node"
                try FileManager.default.createDirectory(atPath: nodeDir, withIntermediateDirectories: true)
                let skills = file.skills ?? Paths.parent(file.path)
                try "name = \"test\"\nskills = [\(String(reflecting: skills))]\n".write(toFile: nodeDir + "/node.toml", atomically: true, encoding: .utf8)
            }
        } catch {
            return [failure(file, "cannot prepare a node for the test: \(error)")]
        }
        guard let source = FileManager.default.contents(atPath: file.path) else { return [failure(file, "cannot read \(file.path)")] }
        var options = NodeOptions()
        options.extraAgent = { Self.extraAgent($0) }
        options.locked = locked && file.node != nil   // a folder of skills runs in a node made for it, without a lock
        options.limits = LuaLimits(timeout: timeout, memory: 256 << 20)
        options.askTimeout = timeout + .seconds(1)
        // The tests have their results: what a test left running (a hung handler, a queued ask
        // whose caller timed out) is not waited for.
        options.shutdownGrace = .zero
        var logger = Logger(label: "loom.test")
        logger.logLevel = .critical
        let node: Node
        do {
            let store = try SQLiteNodeStore(path: scratch + "/node.sqlite")
            node = try Node(directory: nodeDir, options: options, store: store, directory: NodeDirectory(), logger: logger)
            try await node.addTestAgent()
        } catch {
            return [failure(file, "the node of this test does not load: \(error)")]
        }
        await node.start()
        // The chunk is named by its path inside the node (or skills folder): Lua shortens long
        // chunk names, and a shortened one would hide the line.
        let base = (file.node ?? file.skills ?? Paths.parent(file.path)) + "/"
        let chunk = file.path.hasPrefix(base) ? String(file.path.dropFirst(base.count)) : file.path
        let load: LuaValue
        do {
            load = try await node.ask("__test", ["op": "load", "file": .string(LuaString(chunk)), "source": .string(LuaString(bytes: Array(source)))],
                                      timeout: timeout + .seconds(1))
        } catch {
            await node.shutdown()
            return [failure(file, "\(error)")]
        }
        if let problem = load.table?["error"].string {
            await node.shutdown()
            let line = Self.line(in: problem, file: chunk)
            return [failure(file, problem.components(separatedBy: "\nstack traceback:").first ?? problem, line: line ?? 0)]
        }
        var results: [Result] = []
        let clock = ContinuousClock()
        for (i, entry) in (load.table?["tests"].table?.array ?? []).enumerated() {
            let name = entry.table?["name"].string ?? "?"
            let line = Int(entry.table?["line"].integer ?? 0)
            if let filter, !name.contains(filter) { continue }
            let start = clock.now
            var result = Result(file: file.path, name: name, line: line, status: .passed, message: "", traceback: "", seconds: 0)
            do {
                let r = try await node.ask("__test", ["op": "run", "index": .integer(Int64(i + 1))], timeout: timeout + .seconds(1))
                result.status = Status(rawValue: r.table?["status"].string ?? "failed") ?? .failed
                result.message = r.table?["message"].string ?? ""
                result.traceback = Self.userFrames(r.table?["traceback"].string ?? "")
                if result.status == .failed { result.line = Self.line(in: result.message, file: chunk) ?? line }
            } catch {
                result.status = .failed
                result.message = "\(error)".replacingOccurrences(of: TestRunner.frameworkChunk + ":", with: "line ")
                    .components(separatedBy: ": ").drop { $0.hasPrefix("line ") || $0.hasPrefix("[") }.joined(separator: ": ")
                result.line = Self.line(in: result.message, file: chunk) ?? line
            }
            result.seconds = (clock.now - start).inSeconds
            results.append(result)
        }
        await node.shutdown()
        return results
    }

    /// The line of `file` that a Lua error message names (`path:LINE:`).
    static func line(in message: String, file: String) -> Int? {
        guard let range = message.range(of: file + ":") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }
}

extension TestRunner {
    static let frameworkChunk = "loom/test.lua"

    /// A traceback without the frames of the test framework itself.
    static func userFrames(_ traceback: String) -> String {
        traceback.split(separator: "\n").filter { line in
            !line.contains(frameworkChunk) && !line.contains("[C]: in function 'error'") && !line.contains("[C]: in function 'xpcall'")
                && !line.contains("(...tail calls...)")
        }.joined(separator: "\n")
    }

    /// The host capabilities this version of Loom implements (log, clock, messaging, memory, fs.read).
    static let hostCapabilities: [CapabilityRef] = HostCapabilities.standard.implementedKeys.compactMap { try? CapabilityRef($0) }

    /// The test agent for ``NodePlan``: the host capabilities, and each capability of the lineage that resolves.
    static func extraAgent(_ lineage: Lineage) -> NodePlan.ExtraAgent {
        let wanted = manifest(for: lineage)
        var manifest = wanted
        manifest.uses = hostCapabilities
        return NodePlan.ExtraAgent(manifest: manifest, wanted: wanted.uses)
    }

    /// The test agent's manifest: it uses every capability provided in the lineage.
    static func manifest(for lineage: Lineage) -> AgentManifest {
        var uses = hostCapabilities
        for record in lineage.nodes {
            for skill in record.skills + record.foreignSkills {
                for cap in skill.provides where !uses.contains(where: { $0.key == cap.key }) {
                    if let ref = try? CapabilityRef(cap.key) { uses.append(ref) }
                }
            }
        }
        return AgentManifest(name: "__test", domain: "test", description: "loom test", uses: uses, directory: lineage.root.manifest.directory)
    }
}

extension Node {
    /// Gives the test agent its behaviour: the test framework.
    func addTestAgent() throws {
        guard let manifest = engine.kinds["__test"] else { throw TestRunnerError(.noTestAgent, "the node was not opened for tests") }
        try engine.addAgent(manifest, source: Array(TestFramework.source.utf8), chunkName: TestRunner.frameworkChunk,
                            globals: ["__traceback": try engine.lua.tracebackFunction()])
    }
}
