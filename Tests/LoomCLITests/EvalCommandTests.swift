import ArgumentParser
import Foundation
@testable import LoomCLI
import LuaKit
import Testing

@Suite("loom eval")
struct EvalCommandTests {
    func write(_ source: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("loom-eval-\(UUID().uuidString).lua").path
        try source.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("parses its options and rejects bad ones")
    func parsing() throws {
        let command = try LoomCommand.parseAsRoot(["eval", "x.lua", "--timeout", "0.5", "--memory", "1000000"])
        let eval = try #require(command as? EvalCommand)
        #expect(eval.file == "x.lua")
        #expect(eval.timeout == 0.5)
        #expect(eval.memory == 1_000_000)
        #expect(throws: (any Error).self) { try LoomCommand.parseAsRoot(["eval", "x.lua", "--timeout", "-1"]) }
        #expect(throws: (any Error).self) { try LoomCommand.parseAsRoot(["eval", "x.lua", "--memory", "10"]) }
    }

    @Test("returns what the file returns")
    func returnsValues() throws {
        let path = try write("return 1, 'two', {3}")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let values = try EvalCommand.evaluate(file: path, limits: .standard)
        #expect(values.map(\.debugDescription) == ["1", "\"two\"", "{3}"])
    }

    @Test("the example script runs")
    func example() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let values = try EvalCommand.evaluate(file: root.appendingPathComponent("Examples/scripts/word-frequencies.lua").path,
                                              limits: .standard)
        #expect(values.first?.string?.hasPrefix("agents=5") == true)
    }

    @Test("errors name the file and line")
    func errors() throws {
        let path = try write("local a = 1\nlocal b = nil + a\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try EvalCommand.evaluate(file: path, limits: .standard)
            Issue.record("expected an error")
        } catch {
            #expect(error.chunk == path)
            #expect(error.line == 2)
            #expect(error.message.contains("attempt to perform arithmetic on a nil value"))
            #expect(error.description.contains("stack traceback:"))
        }
        let missing = "/nonexistent/x.lua"
        #expect(throws: LuaError.self) { try EvalCommand.evaluate(file: missing, limits: .standard) }
    }

    @Test("a runaway script is stopped by --timeout")
    func timeout() throws {
        let path = try write("while true do end")
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try EvalCommand.evaluate(file: path, limits: LuaLimits(timeout: .milliseconds(100)))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .timeout)
        }
    }
}
