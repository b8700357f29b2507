/// The C3 linearization: the order Python gives a class's bases (its MRO). Loom uses it for a
/// node's lineage: the node first, then its ancestors, nearest first, keeping every parent list's
/// order and every ancestor's own order.
public enum C3: Sendable {
    /// The linearization of `root`. `parents` gives a node's parents in order; it may throw (a
    /// missing ancestor). A cycle or an order C3 cannot produce is a ``LineageError``.
    public static func linearize(
        _ root: String, parents: (String) throws(LineageError) -> [String]
    ) throws(LineageError) -> [String] {
        var ids: [String: Int] = [:]
        var names: [String] = []
        func id(_ name: String) -> Int {
            if let i = ids[name] { return i }
            ids[name] = names.count
            names.append(name)
            return names.count - 1
        }
        var memo: [Int: [Int]] = [:]
        var visiting: [Int] = []

        func linearization(_ node: Int) throws(LineageError) -> [Int] {
            if let done = memo[node] { return done }
            if let at = visiting.firstIndex(of: node) {
                throw LineageError.cycle((visiting[at...] + [node]).map { names[$0] })
            }
            visiting.append(node)
            let parentNames = try parents(names[node])
            let parentIDs = parentNames.map(id)
            var sequences: [[Int]] = []
            for p in parentIDs { sequences.append(try linearization(p)) }
            sequences.append(parentIDs)
            let merged = try merge(sequences, owners: parentNames + ["the parents list of \(names[node])"], node: names[node], names: names)
            visiting.removeLast()
            let result = [node] + merged
            memo[node] = result
            return result
        }
        return try linearization(id(root)).map { names[$0] }
    }

    /// Merges the sequences: repeatedly takes the first head that is in no sequence's tail.
    /// Linear in the total length: a count of tail appearances per node tells whether a head is free.
    static func merge(_ sequences: [[Int]], owners: [String], node: String, names: [String]) throws(LineageError) -> [Int] {
        var heads = [Int](repeating: 0, count: sequences.count)
        var inTail = [Int32](repeating: 0, count: names.count)
        var total = 0
        for s in sequences {
            total += s.count
            for x in s.dropFirst() { inTail[x] += 1 }
        }
        var result: [Int] = []
        result.reserveCapacity(total)
        while true {
            var candidate: Int?
            var anyLeft = false
            for (i, s) in sequences.enumerated() where heads[i] < s.count {
                anyLeft = true
                let h = s[heads[i]]
                if inTail[h] == 0 {
                    candidate = h
                    break
                }
            }
            guard anyLeft else { return result }
            guard let c = candidate else {
                // Explain: each remaining head is held back by a sequence that lists something before it.
                var constraints: [String] = []
                for (i, s) in sequences.enumerated() where heads[i] < s.count {
                    let h = s[heads[i]]
                    for (j, t) in sequences.enumerated() where j != i && heads[j] < t.count {
                        if let at = t[(heads[j] + 1)...].firstIndex(of: h) {
                            constraints.append("\(owners[j]) puts \(names[t[at - 1]]) before \(names[h])")
                            break
                        }
                    }
                }
                let blocked = Set(sequences.indices.filter { heads[$0] < sequences[$0].count }.map { names[sequences[$0][heads[$0]]] }).sorted()
                throw LineageError.inconsistent(node: node, candidates: blocked, constraints: constraints)
            }
            result.append(c)
            for (i, s) in sequences.enumerated() where heads[i] < s.count && s[heads[i]] == c {
                heads[i] += 1
                if heads[i] < s.count { inTail[s[heads[i]]] -= 1 }
            }
        }
    }
}

/// A lineage that cannot be ordered.
public enum LineageError: Error, Sendable, CustomStringConvertible {
    /// A node descends from itself: the path of the cycle.
    case cycle([String])
    /// A parent was not found: the node naming it, the parent, and every place looked.
    case missingAncestor(node: String, parent: String, searched: [String])
    /// C3 cannot order the lineage: the node, the blocked candidates, the constraints that clash.
    case inconsistent(node: String, candidates: [String], constraints: [String])
    /// A node's manifest has problems.
    case manifest(ManifestError)

    public var description: String {
        switch self {
        case .cycle(let path):
            "lineage cycle: \(path.joined(separator: " -> ")); a node cannot descend from itself"
        case .missingAncestor(let node, let parent, let searched):
            "node '\(node)' names parent '\(parent)', which was not found; looked in:\n"
                + searched.map { "  \($0)" }.joined(separator: "\n")
                + "\n  hint: add the folder to [lineage] paths, place '\(parent)' beside '\(node)', or install its bundle"
        case .inconsistent(let node, let candidates, let constraints):
            "the lineage of '\(node)' has no consistent order (C3): none of \(candidates.joined(separator: ", ")) can come next, because "
                + constraints.joined(separator: " and ")
                + "\n  hint: list the parents of '\(node)' in an order that agrees with its ancestors' own orders"
        case .manifest(let error):
            error.description
        }
    }
}
