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

    public static func load(directory: String) throws(ManifestError) -> AgentManifest {
        let file = (directory as NSString).appendingPathComponent("agent.toml")
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ManifestError([Diagnostic(file: file, message: "cannot read the agent manifest", hint: "create agent.toml")])
        }
        return try parse(text: String(decoding: data, as: UTF8.self), file: file, directory: directory) {
            FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent($0))
        }
    }

    public static func parse(text: String, file: String, directory: String,
                             fileExists: (String) -> Bool) throws(ManifestError) -> AgentManifest {
        let table: TOMLTable
        switch ManifestReader.parse(file: file, text: text) {
        case .success(let t): table = t
        case .failure(let e): throw e
        }
        var r = ManifestReader(file: file, text: text)
        r.checkKeys(table, allowed: keys, what: "agent.toml")
        let name = r.name(table, dotted: false, what: "agent")
        let domain = r.string(table, "domain") ?? "general"
        if !Names.isSimple(domain) { r.report("'\(domain)' is not a valid domain name", key: "domain", hint: "a lowercase word, e.g. engineering") }
        let description = r.string(table, "description") ?? ""
        let behaviour = r.string(table, "behaviour") ?? "agent.lua"
        if !fileExists(behaviour) {
            r.report("behaviour file '\(behaviour)' does not exist", key: table["behaviour"] == nil ? nil : "behaviour",
                     hint: "create \(behaviour) next to agent.toml, or set behaviour = \"...\"")
        }
        let uses = r.capabilities(table, "uses", allowRange: true)
        guard r.diagnostics.isEmpty, let name else { throw ManifestError(r.diagnostics) }
        return AgentManifest(name: name, domain: domain, description: description, behaviour: behaviour, uses: uses,
                             directory: directory)
    }
}
