import ArgumentParser
import Foundation
import LuaKit

/// `loom eval FILE`: runs a Lua file in the sandbox and prints what it returns.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Run a Lua file in the sandbox and print the values it returns.",
        discussion: """
            The file runs in a fresh sandbox environment (see docs/lua-api.md) under a deadline and a \
            memory cap. Each returned value is printed on its own line as a Lua literal. On error the \
            message, with file and line, and the traceback go to standard error and the exit code is 1.
            """
    )

    @Argument(help: "The Lua file to run.")
    var file: String

    @Option(help: "The deadline in seconds (default 1).")
    var timeout: Double = 1

    @Option(help: "The VM's memory cap in bytes (default 67108864, 64 MiB).")
    var memory: Int = 64 << 20

    @Option(help: "An instruction budget (off by default; it slows tight loops about twofold).")
    var instructions: Int?

    func validate() throws {
        try Seconds.check(timeout, flag: "--timeout", in: 0...Seconds.max)
        guard memory >= 64 * 1024 else { throw ValidationError("--memory must be at least 65536 bytes") }
        if let instructions, instructions <= 0 { throw ValidationError("--instructions must be positive") }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else {
            printError("error: \(file): no such file")
            throw ExitCode(2)
        }
        let limits = LuaLimits(timeout: Seconds.duration(timeout), memory: memory,
                               instructions: instructions)
        do {
            for value in try Self.evaluate(file: file, limits: limits) { print(value.debugDescription) }
        } catch {
            printError("error: " + error.description)
            throw ExitCode(1)
        }
    }
}

extension EvalCommand {
    /// Runs `file` in a fresh sandboxed state and returns what it returns.
    static func evaluate(file: String, limits: LuaLimits) throws(LuaError) -> [LuaValue] {
        let lua = try LuaState(limits: limits)
        return try lua.loadFile(file).call()
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
