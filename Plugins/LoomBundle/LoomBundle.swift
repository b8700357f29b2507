import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory loom-bundle --node NODE [-o FILE] [--version V]`:
/// a signed bundle of the package's `Skills/` tree, published by NODE (its key signs).
@main
struct LoomBundle: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var args = ArgumentExtractor(arguments)
        guard let node = args.extractOption(named: "node").last else {
            Diagnostics.error("give the publishing node: swift package loom-bundle --node NODE (create one with `loom init NODE`)")
            throw PluginError(message: "no --node")
        }
        let skills = context.package.directoryURL.appendingPathComponent("Skills").path
        let process = Process()
        process.executableURL = try context.tool(named: "loom").url
        process.arguments = ["bundle", node, "--from", skills] + args.remainingArguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PluginError(message: "loom bundle failed (exit \(process.terminationStatus))")
        }
    }
}

struct PluginError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
