import Foundation
import PackagePlugin

/// `swift package loom-check`: `loom check` and `loom test` over the package's `Skills/` tree (or
/// the folders given as arguments).
@main
struct LoomCheck: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        let loom = try context.tool(named: "loom").url
        let folders = arguments.isEmpty ? [context.package.directoryURL.appendingPathComponent("Skills").path] : arguments
        for command in ["check", "test"] {
            let process = Process()
            process.executableURL = loom
            process.arguments = [command] + folders
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                Diagnostics.error("loom \(command) \(folders.joined(separator: " ")) failed")
                throw PluginError(message: "loom \(command) failed (exit \(process.terminationStatus))")
            }
        }
    }
}

struct PluginError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
