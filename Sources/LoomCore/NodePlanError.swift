/// A node that cannot be opened: why, as data, and the message the user sees.
public struct NodePlanError: Error, Sendable, CustomStringConvertible {
    /// Why the node cannot be opened, with the underlying error.
    public enum Reason: Sendable {
        /// A manifest of the lineage is missing or wrong, or the lineage has no C3 order.
        case lineage(LineageError)
        /// loom.lock exists but cannot be read or parsed.
        case lockFile(ManifestError)
        /// A skill's files cannot be hashed to compare them with loom.lock.
        case unreadableSkill(String)
        /// Resolution failed; the lineage it was given.
        case resolution(ResolutionError, Lineage)
        /// `--locked` and the node has no loom.lock.
        case lockMissing(path: String)
        /// `--locked` and loom.lock differs from the resolution, one line per difference.
        case lockDiffers(path: String, differences: [String])
    }

    /// The reason without its payload, to match or compare on.
    public enum Kind: String, Sendable {
        case lineage, lockFile, unreadableSkill, resolution, lockMissing, lockDiffers
    }

    /// Why the node cannot be opened.
    public var reason: Reason

    /// An error for `reason`.
    public init(_ reason: Reason) { self.reason = reason }

    /// The case of ``reason``.
    public var kind: Kind {
        switch reason {
        case .lineage: .lineage
        case .lockFile: .lockFile
        case .unreadableSkill: .unreadableSkill
        case .resolution: .resolution
        case .lockMissing: .lockMissing
        case .lockDiffers: .lockDiffers
        }
    }

    /// The resolution's failure, when resolution is what failed.
    public var resolutionError: ResolutionError? {
        if case .resolution(let e, _) = reason { return e }
        return nil
    }

    /// The message the user sees: the underlying error's, or for `--locked` what to run or what
    /// would change, one line per difference.
    public var description: String {
        switch reason {
        case .lineage(let e): "\(e)"
        case .lockFile(let e): e.description
        case .unreadableSkill(let message): message
        case .resolution(let e, _): e.description
        case .lockMissing(let path):
            "\(path) does not exist (--locked); run `loom resolve \(Paths.parent(path))` first"
        case .lockDiffers(_, let differences):
            "loom.lock would change (--locked):\n" + differences.map { "  - " + $0 }.joined(separator: "\n")
                + "\n  run `loom resolve` without --locked to update it"
        }
    }
}
