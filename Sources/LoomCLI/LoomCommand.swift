public import ArgumentParser

/// `loom`: the command line.
@available(macOS 10.15, macCatalyst 13, iOS 13, tvOS 13, watchOS 6, *)
public struct LoomCommand: AsyncParsableCommand, Sendable {
    public static let configuration = CommandConfiguration(
        commandName: "loom",
        abstract: "Loom hosts civilizations of Lua agents and skills.",
        subcommands: [EvalCommand.self, InitCommand.self, NewCommand.self, TestCommand.self, StubsCommand.self, RunCommand.self, AuditCommand.self, KeysCommand.self, TrustCommand.self, BundleCommand.self,
                      VerifyCommand.self, InstallCommand.self, AgentsCommand.self, MemoryCommand.self, MemoryWriterCommand.self, CheckCommand.self, LineageCommand.self, WhyCommand.self,
                      ResolveCommand.self, BenchCommand.self, HubCommand.self, AskCommand.self, SendCommand.self]
    )

    public init() {}
}
