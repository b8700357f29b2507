import ArgumentParser
import LoomAuthoring
import Foundation
import LoomBundle
import LoomCore
import LoomRuntime

/// `loom init NODE`.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a node: node.toml, a key, an example skill and agent with tests, editor and lint settings."
    )
    @Argument(help: "The new node's folder (its name is the node's).") var node: String

    func run() throws {
        do { try Scaffold.node(at: node) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let key = try bundleStep { try NodeIdentity.create(node: node) }
        print("created node '\(Paths.name(node))' in \(node)")
        print("  key \(key.publicKey.fingerprint) in .loom/identity; stubs for your editor in .loom/stubs (.luarc.json)")
        print("next: loom test \(node)    loom run \(node) --task Ada --to greeter")
    }
}

/// `loom new skill|agent NAME [--node NODE]`.
struct NewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "new",
        abstract: "Create a skill or an agent folder with its manifest, Lua and a test.",
        subcommands: [Skill.self, Agent.self]
    )

    /// The folder for new skills or agents: the node's (from its node.toml), else the current one.
    static func folder(node: String?, skills: Bool) throws -> String {
        guard let node else { return FileManager.default.currentDirectoryPath }
        let manifest: NodeManifest
        do { manifest = try NodeManifest.load(directory: node) } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        let relative = skills ? (manifest.skills.first ?? "skills") : manifest.agents
        return relative.hasPrefix("/") ? relative : Paths.join(node, relative)
    }

    struct Skill: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a skill: skill.toml, init.lua and NAME_test.lua.")
        @Argument(help: "The skill's name (text.scan).") var name: String
        @Option(help: "The node to add it to (default: a folder here).") var node: String?
        func run() throws {
            do {
                let folder = try Scaffold.skill(name, in: try NewCommand.folder(node: node, skills: true))
                print("created skill '\(name)' (provides \(name)@1) in \(folder)")
            } catch let e as ExitCode { throw e } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Agent: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an agent: agent.toml, agent.lua and NAME_test.lua.")
        @Argument(help: "The agent's name (security-auditor).") var name: String
        @Option(help: "The node to add it to (default: a folder here).") var node: String?
        func run() throws {
            do {
                let folder = try Scaffold.agent(name, in: try NewCommand.folder(node: node, skills: false))
                print("created agent '\(name)' in \(folder)")
            } catch let e as ExitCode { throw e } catch {
                printError("error: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

/// `loom stubs [--out DIR] [--markdown] [SKILLS...]`.
struct StubsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stubs",
        abstract: "Write LuaLS definition files (---@meta) for the host API and for skills' annotated functions.",
        discussion: "--markdown prints the host API reference of docs/lua-api.md instead, from the same source."
    )
    @Argument(help: "Folders of skills to write stubs for (default: skills, if there is one here).") var skills: [String] = []
    @Option(help: "Where to write the stubs.") var out = ".loom/stubs"
    @Flag(help: "Print the Markdown reference of the host API.") var markdown = false

    func run() throws {
        if markdown {
            print(HostAPI.markdown)
            return
        }
        let folders = skills.isEmpty ? (FileManager.default.fileExists(atPath: "skills") ? ["skills"] : []) : skills
        do {
            for file in try Scaffold.writeStubs(to: out, skillFolders: folders) { print(file) }
        } catch {
            printError("error: cannot write the stubs in \(out): \(error)")
            throw ExitCode(1)
        }
    }
}
