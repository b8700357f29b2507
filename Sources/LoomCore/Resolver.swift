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
    /// The capabilities the host provides. Skills are never searched for a key found here: the host
    /// serves it, or it is a problem (out of range; not implemented, unless `optional`).
    public var host: HostCapabilities

    /// A resolver with the host capabilities of `host`.
    public init(host: HostCapabilities = .standard) {
        self.host = host
    }

    /// A provider chosen earlier (from a still-valid lock file): used when still a candidate in range.
    public struct Pin: Sendable, Hashable {
        /// The name of the node the skill is in.
        public var node: String
        /// The skill's name.
        public var skill: String
        /// The provider `skill` of node `node`.
        public init(node: String, skill: String) {
            self.node = node
            self.skill = skill
        }
    }

    /// A skill providing a capability: where it is, without copying its manifest.
    struct Candidate {
        var node: Int
        var skill: Int          // index into the node's skills, then its foreign skills
        var capability: CapabilityRef
        var version: SemanticVersion
        var origin: SkillOrigin
    }

    /// Chooses a provider for every capability the root node's agents use, and for everything the
    /// chosen skills require, transitively.
    ///
    /// Each capability (`name@MAJOR`) is bound once: a later requirer whose range the binding does not
    /// satisfy is an `outOfRange` problem. A provider in `pins` (keyed by `name@MAJOR`) is kept when that
    /// node still has that skill providing the capability in range; otherwise the search starts afresh.
    /// An `optional` capability with no provider is left unbound, not an error.
    ///
    /// ```swift
    /// let lineage = try NodeLoader().lineage(of: "nodes/auditor")
    /// do {
    ///     let resolution = try Resolver().resolve(lineage)
    ///     print(resolution.bindings["search@1"]?.providerDescription ?? "search@1 is not used")
    /// } catch {
    ///     print(error)                                          // every problem
    ///     for line in error.explanation(for: "search@1") { print(line) }
    /// }
    /// ```
    ///
    /// - Throws: ``ResolutionError`` listing every problem found, each with a ``ResolutionError/Problem/Kind``
    ///   (`noProvider`, `outOfRange`, `hostVersion`, `unimplementedCapability`, `ambiguous`,
    ///   `missingExtends`, `conflict`, `permission`), with the searches made so far.
    public func resolve(_ lineage: Lineage, pins: [String: Pin] = [:]) throws(ResolutionError) -> Resolution {
        let nodes = lineage.nodes
        func manifest(_ c: Candidate) -> SkillManifest {
            let n = nodes[c.node]
            return c.skill < n.skills.count ? n.skills[c.skill] : n.foreignSkills[c.skill - n.skills.count]
        }
        // Index: capability name -> providers in lineage order; per node, skill name -> skill.
        var providers: [String: [Candidate]] = [:]
        var skillsByName: [[String: Int]] = []
        skillsByName.reserveCapacity(nodes.count)
        for (i, node) in nodes.enumerated() {
            var byName: [String: Int] = [:]
            let count = node.skills.count + (i == 0 ? node.foreignSkills.count : 0)
            for j in 0..<count {
                let skill = j < node.skills.count ? node.skills[j] : node.foreignSkills[j - node.skills.count]
                let origin: SkillOrigin = i > 0 ? .lineage : (j < node.skills.count ? .own : .foreign)
                if j < node.skills.count, byName[skill.name] == nil { byName[skill.name] = j }
                for cap in skill.provides {
                    providers[cap.name, default: []].append(
                        Candidate(node: i, skill: j, capability: cap, version: skill.providedVersion(of: cap), origin: origin))
                }
            }
            skillsByName.append(byName)
        }
        let order = lineage.order
        let root = lineage.root.manifest

        var problems: [ResolutionError.Problem] = []
        var bindings: [String: Binding] = [:]
        var traces: [String: Trace] = [:]
        var agentUses: [String: [String]] = [:]
        var chosen: [String: [SkillLayer]] = [:]   // "node/skill" -> its chain
        var queue: [(ref: CapabilityRef, by: String, file: String, optional: Bool)] = []

        for agent in lineage.root.agents {
            agentUses[agent.name] = agent.uses.map(\.key)
            let file = Paths.join(agent.directory, "agent.toml")
            for ref in agent.uses { queue.append((ref, "agent '\(agent.name)'", file, false)) }
        }

        var head = 0
        while head < queue.count {
            let (ref, requiredBy, file, optional) = queue[head]
            head += 1
            if let existing = bindings[ref.key] {
                if !ref.isSatisfied(by: existing.version) {
                    problems.append(.init(.outOfRange, "\(requiredBy) requires \(ref), but \(ref.key) is already resolved to \(existing.providerDescription), outside that range", file: file))
                }
                continue
            }
            if let hostCap = host.byKey[ref.key] {
                if !hostCap.implemented {
                    // Named by Loom, not served by `use`: absent when optional, an error when required.
                    if !optional {
                        problems.append(.init(.unimplementedCapability,
                            "\(requiredBy) requires \(ref.key) (\(file)), which is not implemented by this version of Loom; "
                            + "the host implements \(host.implementedKeys.joined(separator: ", "))"
                            + (file.hasSuffix("skill.toml") ? " (a skill can list it under `optional` to load without it)" : ""),
                            file: file, capability: ref.key))
                    }
                    continue
                }
                if ref.isSatisfied(by: hostCap.version) {
                    bindings[ref.key] = Binding(capability: ref.key, version: hostCap.version, provider: .host(hostCap))
                    traces[ref.key] = Trace(capability: ref, steps: [TraceStep(node: -1, verdict: .host(hostCap.version))], searched: 0)
                } else {
                    problems.append(.init(.hostVersion, "\(requiredBy) requires \(ref), but the host provides \(ref.key) at \(hostCap.version)", file: file))
                }
                continue
            }
            var trace: [TraceStep] = []
            var pick: Candidate?
            var ambiguous = false
            let candidates = providers[ref.name] ?? []
            if let pin = pins[ref.key], let n = order.firstIndex(of: pin.node),
               let c = candidates.first(where: { $0.node == n && manifest($0).name == pin.skill && ref.isSatisfied(by: $0.version) }) {
                pick = c
                trace.append(TraceStep(node: n, verdict: .pinned(skill: pin.skill, version: c.version)))
            }
            // Candidates come in lineage order: take them a node at a time.
            var searched = pick == nil ? nodes.count : 0   // a kept pin searched nothing
            var k = 0
            while pick == nil && k < candidates.count {
                let n = candidates[k].node
                var inRange: [Candidate] = []
                while k < candidates.count && candidates[k].node == n {
                    let c = candidates[k]
                    k += 1
                    if c.capability.major != ref.major {
                        trace.append(TraceStep(node: n, verdict: .otherMajor(skill: manifest(c).name, major: c.capability.major, version: c.version)))
                    } else if !ref.range.contains(c.version) {
                        trace.append(TraceStep(node: n, verdict: .outOfRange(skill: manifest(c).name, version: c.version)))
                    } else {
                        inRange.append(c)
                    }
                }
                if inRange.count == 1 {
                    pick = inRange[0]
                } else if inRange.count > 1 {
                    let preferred = root.prefer[ref.key] ?? nodes[n].manifest.prefer[ref.key]
                    if let preferred, let c = inRange.first(where: { manifest($0).name == preferred }) {
                        pick = c
                        trace.append(TraceStep(node: n, verdict: .preferred(skill: preferred, among: inRange.count)))
                    } else {
                        let names = inRange.map { "\(manifest($0).name) (\($0.version))" }.sorted().joined(separator: ", ")
                        problems.append(.init(.ambiguous, "node '\(order[n])' has two providers of \(ref.key): \(names); "
                            + "add [prefer] \"\(ref.key)\" = \"\(manifest(inRange[0]).name)\" to node.toml to choose one"
                            + (preferred.map { " (the preferred '\($0)' is not among them)" } ?? ""), file: Paths.join(root.directory, "node.toml")))
                        trace.append(TraceStep(node: n, verdict: .ambiguous(count: inRange.count)))
                        ambiguous = true
                        searched = n + 1
                        break
                    }
                }
                if let pick {
                    trace.append(TraceStep(node: n, verdict: .chosen(skill: manifest(pick).name, version: pick.version)))
                    searched = n + 1
                }
            }
            let explained = Trace(capability: ref, steps: trace, searched: searched)
            traces[ref.key] = explained
            guard let pick else {
                if !optional && !ambiguous {
                    problems.append(.init(.noProvider, "no provider of \(ref) for \(requiredBy); searched, in order:\n"
                        + explained.lines(order: order).map { "    \($0)" }.joined(separator: "\n"), file: file))
                }
                continue
            }
            // The chain of overrides: extends reaches the same-named skill in a later node.
            let top = manifest(pick)
            var chain = [SkillLayer(top, node: order[pick.node], origin: pick.origin)]
            var current = top
            var at = pick.node
            while let target = current.extends {
                var next: Int?
                for j in (at + 1)..<max(at + 1, nodes.count) where skillsByName[j][target] != nil {
                    next = j
                    break
                }
                guard let j = next else {
                    problems.append(.init(.missingExtends, "skill '\(current.name)' (node \(order[at])) extends '\(target)', but no later node in the lineage "
                        + "(\(order[(at + 1)...].joined(separator: ", "))) has a skill of that name", file: Paths.join(current.directory, "skill.toml")))
                    break
                }
                current = nodes[j].skills[skillsByName[j][target]!]
                chain.append(SkillLayer(current, node: order[j], origin: .lineage))
                at = j
            }
            bindings[ref.key] = Binding(capability: ref.key, version: pick.version, provider: .skill(ResolvedSkill(layers: chain)))
            let identity = "\(order[pick.node])/\(top.name)"
            if chosen[identity] == nil {
                chosen[identity] = chain
                for layer in chain {
                    let by = "skill '\(layer.manifest.name)' (node \(layer.node))", file = Paths.join(layer.manifest.directory, "skill.toml")
                    for r in layer.manifest.requires { queue.append((r, by, file, false)) }
                    for r in layer.manifest.optional { queue.append((r, by, file, true)) }
                }
            }
        }

        // Conflicts and permissions, over every loaded layer.
        let layers = chosen.keys.sorted().flatMap { chosen[$0]! }
        let loadedNames = Set(layers.map(\.manifest.name))
        for layer in layers {
            let file = Paths.join(layer.manifest.directory, "skill.toml")
            for c in layer.manifest.conflicts where loadedNames.contains(c) {
                problems.append(.init(.conflict, "skill '\(layer.manifest.name)' (node \(layer.node)) conflicts with '\(c)', which is also resolved", file: file))
            }
            let allowed = root.constitution.allowed(for: layer.origin)
            for p in layer.manifest.permissions.sorted() where !allowed.contains(p) {
                problems.append(.init(.permission, "skill '\(layer.manifest.name)' (node \(layer.node), \(layer.origin.rawValue)) asks for permission '\(p)', "
                    + "which [constitution] \(layer.origin.rawValue) of node '\(root.name)' does not allow", file: file))
            }
            for r in layer.manifest.requires + layer.manifest.optional {
                if let needed = host.byKey[r.key]?.permission, !layer.manifest.permissions.contains(needed) {
                    problems.append(.init(.permission, "skill '\(layer.manifest.name)' (node \(layer.node)) requires \(r.key) but does not declare the permission '\(needed)'; "
                        + "add \"\(needed)\" to its permissions", file: file))
                }
            }
        }
        if !problems.isEmpty { throw ResolutionError(node: root.name, failures: problems, order: order, traces: traces) }
        return Resolution(node: root.name, order: order, bindings: bindings, traces: traces, agents: agentUses)
    }
}

/// One layer of a resolved skill: the skill itself, or a skill it extends.
public struct SkillLayer: Sendable, Equatable {
    /// The skill's manifest.
    public var manifest: SkillManifest
    /// The name of the node the skill comes from.
    public var node: String
    /// Whether the skill is the root node's own, a foreign one of the root, or from a later node.
    public var origin: SkillOrigin
    /// The skill's name.
    public var name: String { manifest.name }
    /// The skill's own version (from skill.toml).
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
    /// The chosen skill: the first layer.
    public var top: SkillLayer { layers[0] }
}

/// The provider bound to one capability.
public struct Binding: Sendable, Equatable {
    /// Who provides a capability: the host or a skill.
    public enum Provider: Sendable, Equatable {
        /// The host, which provides it itself.
        case host(HostCapability)
        /// A skill of the lineage, with the chain of skills it extends.
        case skill(ResolvedSkill)
    }

    /// The capability, as `name@MAJOR`.
    public var capability: String
    /// The version at which it is provided, the one checked against ranges: the host's, or the skill's
    /// own version (`MAJOR.0.0` when the skill's major differs from the capability's).
    public var version: SemanticVersion
    /// The host or the chosen skill.
    public var provider: Provider

    /// The provider for messages: `the host (1.0.0)` or `SKILL VERSION from node NODE`.
    public var providerDescription: String {
        switch provider {
        case .host: "the host (\(version))"
        case .skill(let s): "\(s.top.name) \(s.top.version) from node \(s.top.node)"
        }
    }
}

/// The outcome: each capability's provider, and how it was found.
public struct Resolution: Sendable {
    /// The name of the node that was resolved (the root of the lineage).
    public var node: String
    /// The lineage's node names in C3 order, root first; ``TraceStep/node`` indexes it.
    public var order: [String]
    /// Each capability's provider, keyed by `name@MAJOR`. An optional capability with none is absent.
    public var bindings: [String: Binding]
    /// For each capability, the search in order: each candidate and why it was taken or rejected.
    public var traces: [String: Trace]

    /// The search for a capability as lines, every node looked at in order.
    public func explanation(for key: String) -> [String] { traces[key]?.lines(order: order) ?? [] }
    /// Each agent's capabilities.
    public var agents: [String: [String]]
}

/// The search for one capability: the candidates looked at, in lineage order, and how far it went.
/// Kept structured (rendered only when shown) so that resolution stays fast.
public struct Trace: Sendable, Equatable {
    /// The reference searched for, with the range of the requirer that searched.
    public var capability: CapabilityRef
    /// The candidates looked at and their verdicts, in order; a kept pin or a host capability is one step.
    public var steps: [TraceStep]
    /// How many nodes of the order the search covered.
    public var searched: Int

    /// One line per node searched: what it had and why it was taken or rejected.
    public func lines(order: [String]) -> [String] {
        var out: [String] = []
        var s = 0
        for n in 0..<min(searched, order.count) {
            var any = false
            while s < steps.count && steps[s].node == n {
                out.append(steps[s].line(order: order, capability: capability))
                s += 1
                any = true
            }
            if !any { out.append("\(order[n]) has no skill providing \(capability.name)") }
        }
        while s < steps.count {
            out.append(steps[s].line(order: order, capability: capability))
            s += 1
        }
        return out
    }
}

/// One candidate looked at: its node (an index into the order; -1 for the host) and the verdict.
public struct TraceStep: Sendable, Equatable {
    /// What became of a candidate.
    public enum Verdict: Sendable, Equatable {
        /// Rejected: `skill` provides the capability's name at another major (`major`, at `version`).
        case otherMajor(skill: String, major: Int, version: SemanticVersion)
        /// Rejected: `skill` provides the right major, but `version` is outside the range asked for.
        case outOfRange(skill: String, version: SemanticVersion)
        /// Taken: `skill` at `version` is the provider, the only one in range in its node (or the one
        /// a `preferred` step just before picked).
        case chosen(skill: String, version: SemanticVersion)
        /// The node has `among` providers in range and `[prefer]` picks `skill`; a `chosen` step follows.
        case preferred(skill: String, among: Int)
        /// Failed: the node has `count` providers in range and no `[prefer]` naming one of them; the
        /// search stops here with an `ambiguous` problem.
        case ambiguous(count: Int)
        /// Taken without searching: `skill` at `version` is kept from loom.lock, still valid and in range.
        case pinned(skill: String, version: SemanticVersion)
        /// Taken: the host provides the capability at this version (the step's node is -1).
        case host(SemanticVersion)
    }

    /// The node of the candidate: an index into the resolution's order, or -1 for the host.
    public var node: Int
    /// What became of the candidate.
    public var verdict: Verdict

    /// The step as `loom why` shows it: `order` names the node, `c` is the capability searched for.
    public func line(order: [String], capability c: CapabilityRef) -> String {
        let node = self.node >= 0 && self.node < order.count ? order[self.node] : "the host"
        switch verdict {
        case .otherMajor(let skill, let major, let version):
            return "\(node) has \(c.name)@\(major) (\(version)) in \(skill), outside @\(c.major)"
        case .outOfRange(let skill, let version): return "\(node) has \(c.key) (\(version)) in \(skill), outside \(c.range.text)"
        case .chosen(let skill, let version): return "\(node) has \(c.key) (\(version)) in \(skill): chosen"
        case .preferred(let skill, let count): return "\(node) has \(count) providers of \(c.key); [prefer] picks \(skill)"
        case .ambiguous: return "\(node) has several providers of \(c.key) and no [prefer]"
        case .pinned(let skill, let version): return "\(node) has \(c.key) (\(version)) in \(skill): kept from loom.lock"
        case .host(let version): return "the host provides \(c.key) (\(version))"
        }
    }
}
