public import ArgumentParser

/// `loom`: the command line.
public struct LoomCommand: ParsableCommand, Sendable {
    public static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Loom hosts civilizations of Lua agents and skills.",
        subcommands: [EvalCommand.self, CheckCommand.self, LineageCommand.self, WhyCommand.self, ResolveCommand.self, BenchCommand.self]
    )

    public init() {}
}
