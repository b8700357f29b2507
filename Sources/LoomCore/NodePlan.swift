/// How a node opens: its lineage, the providers its `loom.lock` pins, and the resolution.
///
/// Every path that opens a node makes one: `Node.init`, hot reload, `loom run`, `test`, `audit`,
/// `check`, `lineage`, `why` and `resolve`. With a `loom.lock`, resolution keeps each locked
/// provider that is still valid (the skill present in the lineage with the same version and the
/// same files) and chooses the others afresh, as cargo keeps a lock that is still satisfiable.
/// Nothing here writes the lock (`loom resolve` does):
/// - `locked: false`: a lock that differs from the resolution is a warning (``warnings``) naming
///   each difference;
/// - `locked: true`: a missing lock, or one that differs, is an error (``NodePlanError``) naming
///   each difference.
public struct NodePlan: Sendable {
    /// An agent the host adds to the root node before resolving (`loom test`'s `__test`).
    public struct ExtraAgent: Sendable {
        /// The agent; its `uses` must resolve.
        public var manifest: AgentManifest
        /// Capabilities it also uses, each kept only when the node resolves with it.
        public var wanted: [CapabilityRef]

        /// An extra agent with its manifest and the capabilities it would also like.
        public init(manifest: AgentManifest, wanted: [CapabilityRef]) {
            self.manifest = manifest
            self.wanted = wanted
        }
    }

    /// The lineage as opened: with ``ExtraAgent``'s manifest appended to the root's agents when there
    /// is one.
    public var lineage: Lineage
    /// Where the node's loom.lock is (or would be).
    public var lockPath: String
    /// The lock as read; nil when the node has none.
    public var lock: LockFile?
    /// The providers kept from the lock: its entries that are still valid.
    public var pins: [String: Resolver.Pin]
    /// The resolution the node runs with: each capability's provider, with the extra agent's `uses`
    /// and the wanted capabilities that resolve.
    public var resolution: Resolution
    /// How the lock differs from this resolution, one line each (as `loom resolve --locked`
    /// prints them); empty without a lock or with an up-to-date one.
    public var lockDifferences: [String]
    /// The content hashes of the skill folders looked at so far.
    private var hashes: [String: String]

    /// Loads the lineage of the node in `directory`, reads its loom.lock if there is one, and
    /// resolves with the lock's still-valid pins.
    ///
    /// ```swift
    /// let plan = try NodePlan(directory: "nodes/auditor")
    /// for warning in plan.warnings { print(warning) }   // loom.lock out of date
    /// if let search = plan.resolution.bindings["search@1"] {
    ///     print(search.providerDescription)              // "grep-search 1.2.0 from node base"
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - locked: Refuse a missing loom.lock, or one that differs from the resolution, rather than
    ///     warn.
    ///   - extraAgent: Makes an agent to add to the root before resolving (``ExtraAgent``).
    /// - Throws: ``NodePlanError`` of kind `lineage` (a manifest is missing or wrong), `lockFile`
    ///   (loom.lock cannot be read or parsed), `unreadableSkill`, `resolution`, and with `locked`,
    ///   `lockMissing` or `lockDiffers`.
    public init(directory: String, locked: Bool = false, host: HostCapabilities = .standard,
                extraAgent: ((Lineage) -> ExtraAgent)? = nil) throws(NodePlanError) {
        let lineage: Lineage
        do { lineage = try NodeLoader().lineage(of: directory) } catch { throw NodePlanError(.lineage(error)) }
        let lockPath = Paths.join(lineage.root.manifest.directory, LockFile.fileName)
        var lock: LockFile?
        do { lock = try LockFile.load(file: lockPath) } catch {
            if error.diagnostics.map(\.kind) != [.missing] { throw NodePlanError(.lockFile(error)) }
        }
        try self.init(lineage: lineage, lock: lock, lockPath: lockPath, locked: locked, host: host, extraAgent: extraAgent)
    }

    /// Resolves `lineage` with the still-valid pins of `lock`.
    ///
    /// As ``init(directory:locked:host:extraAgent:)`` once the lineage is loaded and the lock read
    /// (`lock` nil when the node has none); `lockPath` is where it is, or would be.
    /// - Throws: ``NodePlanError`` of kind `unreadableSkill`, `resolution`, `lockMissing` or `lockDiffers`.
    public init(lineage: Lineage, lock: LockFile?, lockPath: String, locked: Bool = false, host: HostCapabilities = .standard,
                extraAgent: ((Lineage) -> ExtraAgent)? = nil) throws(NodePlanError) {
        if locked && lock == nil { throw NodePlanError(.lockMissing(path: lockPath)) }
        var hashes: [String: String] = [:]
        func hash(_ folder: String) throws -> String {
            if let h = hashes[folder] { return h }
            let h = try SkillHasher.hash(directory: folder)
            hashes[folder] = h
            return h
        }
        let pins = lock?.pins(in: lineage, hash: hash) ?? [:]
        let resolver = Resolver(host: host)
        var resolution: Resolution
        do { resolution = try resolver.resolve(lineage, pins: pins) } catch { throw NodePlanError(.resolution(error, lineage)) }
        var differences: [String] = []
        if let lock {
            do { differences = lock.differences(to: try LockFile(resolution: resolution, hash: hash)) } catch {
                throw NodePlanError(.unreadableSkill("cannot hash a skill's files to compare them with \(lockPath): \(error)"))
            }
            if locked && !differences.isEmpty { throw NodePlanError(.lockDiffers(path: lockPath, differences: differences)) }
        }
        var opened = lineage
        if let extraAgent {
            let extra = extraAgent(lineage)
            do throws(ResolutionError) {
                resolution = try Self.resolve(&opened, adding: extra, resolver: resolver, pins: pins)
            } catch {
                throw NodePlanError(.resolution(error, lineage))
            }
        }
        self.lineage = opened
        self.lockPath = lockPath
        self.lock = lock
        self.pins = pins
        self.resolution = resolution
        self.lockDifferences = differences
        self.hashes = hashes
    }

    /// What to tell the user about the plan: a lock that differs from the resolution.
    public var warnings: [String] {
        guard !lockDifferences.isEmpty else { return [] }
        return ["\(lockPath) is out of date; its still-valid providers were kept and the file was not changed "
            + "(`loom resolve` updates it; --locked refuses a lock that differs):\n"
            + lockDifferences.map { "  - " + $0 }.joined(separator: "\n")]
    }

    /// loom.lock as this resolution writes it.
    public func currentLock() throws -> LockFile {
        try LockFile(resolution: resolution) { folder in
            try hashes[folder] ?? SkillHasher.hash(directory: folder)
        }
    }

    /// Adds `extra` to the root and resolves: its `uses`, then each wanted capability that resolves.
    static func resolve(_ lineage: inout Lineage, adding extra: ExtraAgent, resolver: Resolver,
                        pins: [String: Resolver.Pin]) throws(ResolutionError) -> Resolution {
        var uses = extra.manifest.uses
        lineage.nodes[0].agents.append(extra.manifest)
        let last = lineage.nodes[0].agents.count - 1
        var resolution = try resolver.resolve(lineage, pins: pins)
        for cap in extra.wanted where !uses.contains(where: { $0.key == cap.key }) {
            lineage.nodes[0].agents[last].uses = uses + [cap]
            if let r = try? resolver.resolve(lineage, pins: pins) {
                uses.append(cap)
                resolution = r
            }
        }
        lineage.nodes[0].agents[last].uses = uses
        return resolution
    }
}
