import Foundation
import Glibc

/// Runs an external program to its end, or kills it (SIGKILL) when it outlives a time limit. Its
/// standard output and error go to files in a folder the caller owns (a pipe left unread would stall
/// a chatty program), and standard input is empty.
///
/// ```swift
/// let run = try await TimedProcess.run("/usr/bin/erlc", ["-o", dir, file], in: dir, limit: .seconds(60))
/// if run.timedOut || run.status != 0 { print(run.stderr) }
/// ```
struct TimedProcess: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The program outlived the limit and was killed; `status` is then the signal's.
    var timedOut: Bool

    /// How often the program is checked for having ended.
    static let poll = Duration.milliseconds(10)

    static func run(_ executable: String, _ arguments: [String], in folder: String, limit: Duration) async throws -> TimedProcess {
        let name = URL(fileURLWithPath: executable).lastPathComponent
        let outPath = folder + "/\(name)-\(UUID().uuidString).out", errPath = folder + "/\(name)-\(UUID().uuidString).err"
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
              FileManager.default.createFile(atPath: errPath, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: folder])
        }
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()

        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var timedOut = false
        while process.isRunning {
            if clock.now >= deadline {
                timedOut = true
                break
            }
            do {
                try await Task.sleep(for: poll)
            } catch {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw error
            }
        }
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        func read(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return TimedProcess(status: process.terminationStatus, stdout: read(outPath), stderr: read(errPath), timedOut: timedOut)
    }
}
