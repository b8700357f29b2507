import Foundation
import TOMLKit

/// An agent's `agent.toml`: its behaviour script and the capabilities it uses.
public struct AgentManifest: Sendable, Equatable {
    public var name: String
    public var domain: String
    public var description: String
    /// The behaviour script, relative to the agent's folder. Default `agent.lua`.
    public var behaviour: String
    public var uses: [CapabilityRef]
    public var directory: String

    static let keys = ["name", "domain", "description", "behaviour", "uses"]

    public init(name: String, domain: String = "", description: String = "", behaviour: String = "agent.lua",
                uses: [CapabilityRef], directory: String) {
        self.name = name
        self.domain = domain
        self.description = description
        self.behaviour = behaviour
        self.uses = uses
        self.directory = directory
    }

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
