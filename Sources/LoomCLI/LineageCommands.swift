import ArgumentParser
import Foundation
import LoomBundle
import LoomCore
import LoomRuntime

/// Opens a node's plan (lineage, loom.lock's pins, resolution), printing the error and exiting 1
/// when it cannot. With `tolerate`, a failed resolution is returned instead, with its lineage; with
/// `warn`, a loom.lock that differs from the resolution is a warning on standard error.
func loadPlan(_ node: String, locked: Bool = false, tolerate: Bool = false, warn: Bool = true) throws -> Result<NodePlan, NodePlanError> {
    do {
        // Installed bundles must be as their publishers signed them before their manifests are read.
        try InstalledBundles.check(node: node)
        let plan = try NodePlan(directory: node, locked: locked)
        if warn { for warning in plan.warnings { printError("warning: \(warning)") } }
        return .success(plan)
    } catch let error as NodePlanError where tolerate && error.kind == .resolution {
        return .failure(error)
    } catch let error as NodePlanError where error.kind == .lockFile {
        printError(error.description)   // file:line:col: error: ...
        throw ExitCode(1)
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

/// A node's lineage, whether or not it resolves.
func loadLineage(_ node: String) throws -> Lineage {
    switch try loadPlan(node, tolerate: true) {
    case .success(let plan): return plan.lineage
    case .failure(let error):
        guard case .resolution(_, let lineage) = error.reason else { throw ExitCode(1) }
        return lineage
    }
}

/// Opens the node in `directory` (not started), printing the error and exiting 1 when it cannot.
func openNode(_ directory: String, options: NodeOptions = NodeOptions()) throws -> Node {
    do {
        return try Node(directory: directory, options: options)
    } catch {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// `loom lineage NODE`: the C3 order.
struct LineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Print a node's lineage in resolution (C3) order: the node, then its ancestors, nearest first."
    )

    @Argument(help: "The node's folder.")
    var node: String

    @Flag(help: "Print {\"order\": [...]} as JSON.")
    var json = false

    func run() throws {
        let lineage = try loadLineage(node)
        if json {
            try printJSON(["order": lineage.order])
            return
        }
        for (i, n) in lineage.nodes.enumerated() {
            let parents = n.manifest.parents.isEmpty ? "" : "  (parents: \(n.manifest.parents.joined(separator: ", ")))"
            print("\(i + 1). \(n.name)\(parents)  \(n.manifest.directory)")
        }
    }
}

/// `loom why NODE CAPABILITY`: who provides it, the chain of overrides, and what was rejected.
struct WhyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract: "Explain which skill provides a capability to a node: the provider, its overrides, the rejected candidates."
    )

    @Argument(help: "The node's folder.")
    var node: String

    @Argument(help: "The capability, e.g. search@1.")
    var capability: String

    @Flag(help: "Print the explanation as JSON.")
    var json = false

    func run() throws {
        let ref: CapabilityRef
        do { ref = try CapabilityRef(capability) } catch {
            printError("error: " + error.description)
            throw ExitCode(2)
        }
        var resolution: Resolution?
        var failure: ResolutionError?
        let lineage: Lineage
        switch try loadPlan(node, tolerate: true) {
        case .success(let plan): (lineage, resolution) = (plan.lineage, plan.resolution)
        case .failure(let error):
            guard case .resolution(let e, let l) = error.reason else { throw ExitCode(1) }
            (lineage, failure) = (l, e)
        }
        let binding = resolution?.bindings[ref.key]
        let trace = resolution?.explanation(for: ref.key) ?? failure?.explanation(for: ref.key) ?? []
        if json {
            var out: [String: Any] = ["capability": ref.key, "searched": trace]
            switch binding?.provider {
            case .host(let h)?: out["provider"] = ["host": true, "version": h.version.description]
            case .skill(let s)?:
                out["provider"] = ["skill": s.top.name, "version": s.top.version.description, "node": s.top.node]
                out["chain"] = s.layers.map { ["skill": $0.name, "version": $0.version.description, "node": $0.node] }
            case nil: out["provider"] = NSNull()
            }
            if let failure { out["errors"] = failure.problems }
            try printJSON(out)
        } else {
            switch binding?.provider {
            case .host(let h)?: print("\(ref.key) is provided by the host (\(h.version))")
            case .skill(let s)?:
                print("\(ref.key) is provided by \(s.top.name) \(s.top.version) from node \(s.top.node)")
                if s.layers.count > 1 {
                    print("overrides (super chain):")
                    for (i, layer) in s.layers.enumerated() {
                        print("  \(i + 1). \(layer.name) \(layer.version) from node \(layer.node)")
                    }
                }
            case nil:
                print("\(ref.key) is not provided to node \(lineage.root.name)")
            }
            if !trace.isEmpty {
                print("searched, in order:")
                for line in trace { print("  \(line)") }
            }
            if let failure { printError(failure.description) }
        }
        if binding == nil { throw ExitCode(1) }
    }
}

/// `loom resolve NODE [--locked]`: writes loom.lock.
struct ResolveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve a node's capabilities and write its loom.lock.",
        discussion: """
            A loom.lock that is still valid (each locked skill present, same version, same files) is \
            reused: its providers stay chosen. With --locked, nothing is written, and the command fails, \
            naming each difference, when resolution would change the lock.
            """
    )

    @Argument(help: "The node's folder.")
    var node: String

    @Flag(help: "Fail instead of changing loom.lock.")
    var locked = false

    func run() throws {
        guard case .success(let plan) = try loadPlan(node, locked: locked, warn: false) else { throw ExitCode(1) }
        if locked {
            print("loom.lock is up to date (\(plan.lock?.entries.count ?? 0) capabilities)")
            return
        }
        let lockPath = plan.lockPath
        let existing = plan.lock
        let lock: LockFile
        do { lock = try plan.currentLock() } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        if existing == lock {
            print("loom.lock is up to date (\(lock.entries.count) capabilities)")
            return
        }
        try lock.render().write(toFile: lockPath, atomically: true, encoding: .utf8)
        print("wrote \(lockPath) (\(lock.entries.count) capabilities)")
    }
}
