/// Resolves every capability a node needs to exactly one provider.
///
/// The capabilities the node's agents use, and every chosen skill's `requires` (and `optional`),
/// transitively, go to the first node in the C3 order with a skill providing the capability in range.
/// Host capabilities come from the table the runtime supplies. A chosen skill's `extends` chains the
/// same-named skill of a later node (`super`). Inside one node, two providers are an error unless
/// `[prefer]` (the root's, then that node's) picks one. `conflicts` and permissions beyond the
/// constitution are errors. Every failure explains what was searched and why each candidate was
/// rejected.
public struct Resolver: Sendable {
    public var host: HostCapabilities

    public init(host: HostCapabilities = .standard) {
        self.host = host
    }

    /// A provider chosen earlier (from a still-valid lock file): used when still a candidate in range.
    public struct Pin: Sendable, Hashable {
        public var node: String
        public var skill: String
        public init(node: String, skill: String) {
            self.node = node
            self.skill = skill
        }
    }

    struct Candidate {
        var skill: SkillManifest
        var capability: CapabilityRef
        var nodeIndex: Int
        var origin: SkillOrigin
        var version: SemanticVersion { skill.providedVersion(of: capability) }
    }

    public func resolve(_ lineage: Lineage, pins: [String: Pin] = [:]) throws(ResolutionError) -> Resolution {
        // Index: per node, capability name -> providers.
        var index: [[String: [Candidate]]] = []
        index.reserveCapacity(lineage.nodes.count)
        for (i, node) in lineage.nodes.enumerated() {
            var byName: [String: [Candidate]] = [:]
            let origin: SkillOrigin = i == 0 ? .own : .lineage
            for skill in node.skills {
                for cap in skill.provides { byName[cap.name, default: []].append(Candidate(skill: skill, capability: cap, nodeIndex: i, origin: origin)) }
            }
            if i == 0 {
                for skill in node.foreignSkills {
                    for cap in skill.provides { byName[cap.name, default: []].append(Candidate(skill: skill, capability: cap, nodeIndex: i, origin: .foreign)) }
                }
            }
            index.append(byName)
        }
        let order = lineage.order
        let root = lineage.root.manifest

        var problems: [String] = []
        var bindings: [String: Binding] = [:]
        var traces: [String: [String]] = [:]
        var agentUses: [String: [String]] = [:]
        var chosen: [String: (Candidate, [SkillLayer])] = [:]   // skill identity -> chain
        var queue: [(ref: CapabilityRef, by: String, optional: Bool)] = []

        for agent in lineage.root.agents {
            agentUses[agent.name] = agent.uses.map(\.key)
            for ref in agent.uses { queue.append((ref, "agent '\(agent.name)'", false)) }
        }

        var head = 0
        while head < queue.count {
            let (ref, requiredBy, optional) = queue[head]
            head += 1
            if let existing = bindings[ref.key] {
                if !ref.isSatisfied(by: existing.version) {
                    problems.append("\(requiredBy) requires \(ref), but \(ref.key) is already resolved to \(existing.providerDescription), outside that range")
                }
                continue
            }
            if let hostCap = host.byKey[ref.key] {
                if ref.isSatisfied(by: hostCap.version) {
                    bindings[ref.key] = Binding(capability: ref.key, version: hostCap.version, provider: .host(hostCap))
                    traces[ref.key] = ["the host provides \(ref.key) (\(hostCap.version))"]
                } else {
                    problems.append("\(requiredBy) requires \(ref), but the host provides \(ref.key) at \(hostCap.version)")
                }
                continue
            }
            var trace: [String] = []
            var pick: Candidate?
            if let pin = pins[ref.key], let n = order.firstIndex(of: pin.node),
               let c = index[n][ref.name]?.first(where: { $0.skill.name == pin.skill && $0.capability.major == ref.major && ref.range.contains($0.version) }) {
                pick = c
                trace.append("\(pin.node) has \(ref.key) (\(c.version)) in \(c.skill.name): kept from loom.lock")
            }
            var n = 0
            while pick == nil && n < index.count {
                let nodeName = order[n]
                let candidates = index[n][ref.name] ?? []
                var inRange: [Candidate] = []
                for c in candidates {
                    if c.capability.major != ref.major {
                        trace.append("\(nodeName) has \(c.capability.name)@\(c.capability.major) (\(c.version)) in \(c.skill.name), outside @\(ref.major)")
                    } else if !ref.range.contains(c.version) {
                        trace.append("\(nodeName) has \(ref.key) (\(c.version)) in \(c.skill.name), outside \(ref.range.text)")
                    } else {
                        inRange.append(c)
                    }
                }
                if candidates.isEmpty { trace.append("\(nodeName) has no skill providing \(ref.name)") }
                if inRange.count == 1 {
                    pick = inRange[0]
                } else if inRange.count > 1 {
                    let preferred = root.prefer[ref.key] ?? lineage.nodes[n].manifest.prefer[ref.key]
                    if let preferred, let c = inRange.first(where: { $0.skill.name == preferred }) {
                        pick = c
                        trace.append("\(nodeName) has \(inRange.count) providers of \(ref.key); [prefer] picks \(preferred)")
                    } else {
                        let names = inRange.map { "\($0.skill.name) (\($0.version))" }.sorted().joined(separator: ", ")
                        problems.append("node '\(nodeName)' has two providers of \(ref.key): \(names); "
                            + "add [prefer] \"\(ref.key)\" = \"\(inRange[0].skill.name)\" to node.toml to choose one"
                            + (preferred.map { " (the preferred '\($0)' is not among them)" } ?? ""))
                        trace.append("\(nodeName) has several providers of \(ref.key) and no [prefer]")
                        break
                    }
                }
                if let pick { trace.append("\(nodeName) has \(ref.key) (\(pick.version)) in \(pick.skill.name): chosen") }
                n += 1
            }
            traces[ref.key] = trace
            guard let pick else {
                if !optional && !trace.contains(where: { $0.contains("several providers") }) {
                    problems.append("no provider of \(ref) for \(requiredBy); searched, in order:\n"
                        + trace.map { "    \($0)" }.joined(separator: "\n"))
                }
                continue
            }
            // The chain of overrides: extends reaches the same-named skill in a later node.
            var chain = [SkillLayer(pick.skill, node: order[pick.nodeIndex], origin: pick.origin)]
            var current = pick.skill
            var at = pick.nodeIndex
            while let target = current.extends {
                var found: (SkillManifest, Int)?
                for j in (at + 1)..<max(at + 1, index.count) {
                    if let s = lineage.nodes[j].skills.first(where: { $0.name == target }) {
                        found = (s, j)
                        break
                    }
                }
                guard let (s, j) = found else {
                    problems.append("skill '\(current.name)' (node \(order[at])) extends '\(target)', but no later node in the lineage "
                        + "(\(order[(at + 1)...].joined(separator: ", "))) has a skill of that name")
                    break
                }
                chain.append(SkillLayer(s, node: order[j], origin: .lineage))
                current = s
                at = j
            }
            let skill = ResolvedSkill(layers: chain)
            bindings[ref.key] = Binding(capability: ref.key, version: pick.version, provider: .skill(skill))
            let identity = "\(order[pick.nodeIndex])/\(pick.skill.name)"
            if chosen[identity] == nil {
                chosen[identity] = (pick, chain)
                for layer in chain {
                    for r in layer.manifest.requires { queue.append((r, "skill '\(layer.manifest.name)' (node \(layer.node))", false)) }
                    for r in layer.manifest.optional { queue.append((r, "skill '\(layer.manifest.name)' (node \(layer.node))", true)) }
                }
            }
        }

        // Conflicts and permissions, over every loaded layer.
        let layers = chosen.keys.sorted().flatMap { chosen[$0]!.1 }
        let loadedNames = Set(layers.map(\.manifest.name))
        for layer in layers {
            for c in layer.manifest.conflicts where loadedNames.contains(c) {
                problems.append("skill '\(layer.manifest.name)' (node \(layer.node)) conflicts with '\(c)', which is also resolved")
            }
            let allowed = root.constitution.allowed(for: layer.origin)
            for p in layer.manifest.permissions.sorted() where !allowed.contains(p) {
                problems.append("skill '\(layer.manifest.name)' (node \(layer.node), \(layer.origin.rawValue)) asks for permission '\(p)', "
                    + "which [constitution] \(layer.origin.rawValue) of node '\(root.name)' does not allow")
            }
            for r in layer.manifest.requires + layer.manifest.optional {
                if let needed = host.byKey[r.key]?.permission, !layer.manifest.permissions.contains(needed) {
                    problems.append("skill '\(layer.manifest.name)' (node \(layer.node)) requires \(r.key) but does not declare the permission '\(needed)'; "
                        + "add \"\(needed)\" to its permissions")
                }
            }
        }
        if !problems.isEmpty { throw ResolutionError(node: root.name, problems: problems, traces: traces) }
        return Resolution(node: root.name, order: order, bindings: bindings, traces: traces, agents: agentUses)
    }
}

/// One layer of a resolved skill: the skill itself, or a skill it extends.
public struct SkillLayer: Sendable, Equatable {
    public var manifest: SkillManifest
    public var node: String
    public var origin: SkillOrigin
    /// The permissions the layer's environment gets: declared, within the constitution.
    public var name: String { manifest.name }
    public var version: SemanticVersion { manifest.version }

    init(_ manifest: SkillManifest, node: String, origin: SkillOrigin) {
        self.manifest = manifest
        self.node = node
        self.origin = origin
    }
}

/// A skill chosen for a capability, with the chain of skills it extends (`super`).
public struct ResolvedSkill: Sendable, Equatable {
    /// The chosen skill first, then what it extends, in order.
    public var layers: [SkillLayer]
    public var top: SkillLayer { layers[0] }
}

public struct Binding: Sendable, Equatable {
    public enum Provider: Sendable, Equatable {
        case host(HostCapability)
        case skill(ResolvedSkill)
    }

    public var capability: String
    public var version: SemanticVersion
    public var provider: Provider

    public var providerDescription: String {
        switch provider {
        case .host: "the host (\(version))"
        case .skill(let s): "\(s.top.name) \(s.top.version) from node \(s.top.node)"
        }
    }
}

/// The outcome: each capability's provider, and how it was found.
public struct Resolution: Sendable {
    public var node: String
    public var order: [String]
    public var bindings: [String: Binding]
    /// For each capability, the search in order: each candidate and why it was taken or rejected.
    public var traces: [String: [String]]
    /// Each agent's capabilities.
    public var agents: [String: [String]]
}

/// Resolution failed: every problem, each explaining itself.
public struct ResolutionError: Error, Sendable, CustomStringConvertible {
    public var node: String
    public var problems: [String]
    /// The searches made before giving up, as in ``Resolution/traces``.
    public var traces: [String: [String]] = [:]
    public var description: String {
        "cannot resolve node '\(node)':\n" + problems.map { "  - " + $0 }.joined(separator: "\n")
    }
}
