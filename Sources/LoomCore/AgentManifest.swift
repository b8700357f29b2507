import Foundation
import TOMLKit

/// An agent's `agent.toml`: its behaviour script and the capabilities it uses.
public struct AgentManifest: Sendable, Equatable {
    /// The agent's name, a simple name (`security-auditor`), unique within its node.
    public var name: String
    /// A one-word area of work used to group agents; `general` when the manifest leaves it out.
    public var domain: String
    /// Free text for people; empty when absent.
    public var description: String
    /// The behaviour script, relative to the agent's folder. Default `agent.lua`.
    public var behaviour: String
    /// The capabilities the agent's behaviour may `use`, each `name@MAJOR` with an optional range.
    public var uses: [CapabilityRef]
    /// The agent's folder, as given to ``load(directory:)`` or ``parse(text:file:directory:fileExists:)``.
    public var directory: String

    static let keys = ["name", "domain", "description", "behaviour", "uses"]

    /// Makes a manifest from values, without any check (tests and generated agents).
    public init(name: String, domain: String = "", description: String = "", behaviour: String = "agent.lua",
                uses: [CapabilityRef], directory: String) {
        self.name = name
        self.domain = domain
        self.description = description
        self.behaviour = behaviour
        self.uses = uses
        self.directory = directory
    }

    /// Reads and checks `directory/agent.toml`, and that its behaviour file is a file inside the folder
    /// (symbolic links followed, none leading out).
    /// - Throws: a ``ManifestError`` with every problem of the file, each with its line and column.
    public static func load(directory: String) throws(ManifestError) -> AgentManifest {
        let (file, text) = try ManifestReader.read("agent.toml", in: directory, what: "agent", hint: "create agent.toml")
        return try parse(text: text, file: file, directory: directory, entryCheck: { ManifestReader.entry($0, in: directory) })
    }

    /// Parses manifest text. `fileExists` answers for paths relative to the agent's folder.
    public static func parse(text: String, file: String, directory: String,
                             fileExists: (String) -> Bool) throws(ManifestError) -> AgentManifest {
        try parse(text: text, file: file, directory: directory, entryCheck: { fileExists($0) ? .file : .missing })
    }

    static func parse(text: String, file: String, directory: String,
                      entryCheck: (String) -> ManifestReader.EntryFile) throws(ManifestError) -> AgentManifest {
        let table = try ManifestReader.table(file: file, text: text)
        var r = ManifestReader(file: file, text: text)
        r.checkKeys(table, allowed: keys, what: "agent.toml")
        let name = r.name(table, dotted: false, what: "agent")
        let domain = r.string(table, "domain") ?? "general"
        if !Names.isSimple(domain) { r.report("'\(domain)' is not a valid domain name", key: "domain", hint: "a lowercase word, e.g. engineering") }
        let description = r.string(table, "description") ?? ""
        let behaviour = r.entryPath(table, "behaviour", default: "agent.lua", folder: "agent", check: entryCheck)
        let uses = r.capabilities(table, "uses", allowRange: true)
        guard r.diagnostics.isEmpty, let name else { throw ManifestError(r.diagnostics) }
        return AgentManifest(name: name, domain: domain, description: description, behaviour: behaviour, uses: uses,
                             directory: directory)
    }
}
