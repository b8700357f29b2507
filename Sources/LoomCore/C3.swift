/// The C3 linearization: the order Python gives a class's bases (its MRO). Loom uses it for a
/// node's lineage: the node first, then its ancestors, nearest first, keeping every parent list's
/// order and every ancestor's own order.
///
/// ```swift
/// let parents = ["child": ["weaver", "acgee"], "weaver": ["root"], "acgee": ["root"], "root": []]
/// let order = try C3.linearize("child") { name throws(LineageError) in parents[name] ?? [] }
/// // ["child", "weaver", "acgee", "root"]
/// ```
public enum C3: Sendable {
    /// The linearization of `root`. `parents` gives a node's parents in order; it may throw (a
    /// missing ancestor). A cycle or an order C3 cannot produce is a ``LineageError``.
    ///
    /// Iterative (a lineage as deep as memory allows, no recursion) and sharing: a linearization is
    /// a list whose tail is shared with the linearizations it was merged from, so a chain of n nodes
    /// holds n cells, not n²/2. A merge walks only the parts where its inputs differ; the part they
    /// share (from the point where they meet) becomes the result's tail as it is.
    ///
    /// - Parameters:
    ///   - root: the node to linearize; it comes first in the result.
    ///   - parents: a node's parents in order, called once per distinct node reached.
    /// - Returns: `root`, then every ancestor once, nearest first.
    /// - Throws: ``LineageError/cycle(_:)`` naming the cycle's path,
    ///   ``LineageError/inconsistent(node:candidates:constraints:)`` naming the clashing orders, or
    ///   whatever `parents` throws.
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
        var lists = Lists()
        var memo: [Int: Int] = [:]   // node -> the first cell of its linearization
        // The path being explored, as in a recursive walk: a node, its parents, the next parent to visit.
        var path: [(node: Int, parents: [Int], next: Int)] = []
        var onPath: [Int: Int] = [:]   // node -> its index in path
        func enter(_ node: Int) throws(LineageError) {
            if let at = onPath[node] {
                throw LineageError.cycle((path[at...].map(\.node) + [node]).map { names[$0] })
            }
            let parentIDs = try parents(names[node]).map(id)
            onPath[node] = path.count
            path.append((node, parentIDs, 0))
        }
        let rootID = id(root)
        try enter(rootID)
        while let top = path.last {
            if top.next < top.parents.count {
                path[path.count - 1].next += 1
                let p = top.parents[top.next]
                if memo[p] == nil { try enter(p) }
                continue
            }
            let merged = try merge(top.parents.map { memo[$0]! }, parents: top.parents, node: top.node, names: names, lists: &lists)
            memo[top.node] = lists.cons(top.node, merged)
            path.removeLast()
            onPath[top.node] = nil
        }
        return lists.array(from: memo[rootID]!).map { names[$0] }
    }

    /// Linked lists in one arena, sharing tails: cell i holds a node, the next cell (-1 at the end)
    /// and the length from i to the end. No references, so no recursion when they are freed.
    /// Hash-consed: a list of given contents exists once, so two lists with equal tails share them
    /// and "equal from here on" is "the same cell".
    struct Lists {
        static let end = -1
        private(set) var value: [Int] = []
        private(set) var next: [Int] = []
        private(set) var length: [Int] = []
        /// (node, tail) -> the cell holding them.
        private var cells: [Int: Int] = [:]
        /// Counts of tail appearances, reused from merge to merge (zero between merges).
        var inTail: [Int: Int] = [:]

        mutating func cons(_ x: Int, _ tail: Int) -> Int {
            let key = x << 32 | (tail + 1)
            if let cell = cells[key] { return cell }
            cells[key] = value.count
            value.append(x)
            next.append(tail)
            length.append(tail == Self.end ? 1 : length[tail] + 1)
            return value.count - 1
        }

        func count(_ cell: Int) -> Int { cell == Self.end ? 0 : length[cell] }

        func dropFirst(_ k: Int, of cell: Int) -> Int {
            var c = cell
            for _ in 0..<k where c != Self.end { c = next[c] }
            return c
        }

        func array(from cell: Int) -> [Int] {
            var out: [Int] = []
            out.reserveCapacity(count(cell))
            var c = cell
            while c != Self.end {
                out.append(value[c])
                c = next[c]
            }
            return out
        }
    }

    /// The merge of the parents' linearizations `sequences` and the parent list `parents` (C3's
    /// merge), as a list of `lists`. The sequences meet at a shared suffix (possibly empty); each
    /// element of it comes after some element of every part before it, so the merge takes those parts
    /// first (the plain merge, on them only), then the suffix as it is. A parent in the suffix is one
    /// whose own linearization is all suffix: it can be taken only in the suffix's order. When the
    /// merge is stuck, the plain merge of the whole sequences says why.
    static func merge(_ sequences: [Int], parents: [Int], node: Int, names: [String],
                      lists: inout Lists) throws(LineageError) -> Int {
        let end = Lists.end
        func explain() throws(LineageError) -> Never {
            let owners = parents.map { names[$0] } + ["the parents list of \(names[node])"]
            _ = try merge(sequences.map { lists.array(from: $0) } + [parents], owners: owners, node: names[node], names: names)
            preconditionFailure("C3: a merge stuck on shared tails succeeds on whole sequences")
        }
        guard !sequences.isEmpty else { return end }
        // Where the sequences meet: align them on the shortest, then walk together until they are one cell.
        let shortest = sequences.map { lists.count($0) }.min()!
        var ends = sequences.map { lists.dropFirst(lists.count($0) - shortest, of: $0) }
        while ends[0] != end, !ends.allSatisfy({ $0 == ends[0] }) { ends = ends.map { lists.next[$0] } }
        let shared = ends[0]
        let sharedCount = lists.count(shared)
        // parents[i] is in the shared suffix when its whole linearization is.
        let inShared = sequences.map { lists.count($0) == sharedCount }

        // The plain merge over the parts before the shared suffix and the parent list, holding back
        // what is in the suffix.
        var touched: [Int] = []
        func add(_ x: Int, _ delta: Int) {
            if delta > 0, lists.inTail[x] == nil { touched.append(x) }
            lists.inTail[x, default: 0] += delta
        }
        defer { for x in touched { lists.inTail[x] = nil } }
        for s in sequences where s != shared {
            var c = lists.next[s]
            while c != shared {
                add(lists.value[c], 1)
                c = lists.next[c]
            }
        }
        for x in parents.dropFirst() { add(x, 1) }
        var heads = sequences
        var listHead = 0
        var taken: [Int] = []
        while true {
            var candidate: Int?
            var anyLeft = false
            for h in heads where h != shared {
                anyLeft = true
                if lists.inTail[lists.value[h], default: 0] == 0 {
                    candidate = lists.value[h]
                    break
                }
            }
            if candidate == nil, listHead < parents.count, !inShared[listHead] {
                anyLeft = true
                if lists.inTail[parents[listHead], default: 0] == 0 { candidate = parents[listHead] }
            }
            guard anyLeft else { break }
            guard let c = candidate else { try explain() }
            taken.append(c)
            for i in heads.indices where heads[i] != shared && lists.value[heads[i]] == c {
                heads[i] = lists.next[heads[i]]
                if heads[i] != shared { add(lists.value[heads[i]], -1) }
            }
            if listHead < parents.count, parents[listHead] == c {
                listHead += 1
                if listHead < parents.count { add(parents[listHead], -1) }
            }
        }
        // Only the suffix is left; what remains of the parent list must follow its order.
        var last = Int.max
        for i in listHead..<parents.count {
            let at = lists.count(sequences[i])
            guard at < last else { try explain() }
            last = at
        }
        var result = shared
        for x in taken.reversed() { result = lists.cons(x, result) }
        return result
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

    /// The message a user sees, with a hint where one helps.
    public var description: String {
        switch self {
        case .cycle(let path):
            "lineage cycle: \(Self.shortened(path)); a node cannot descend from itself"
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

extension LineageError {
    /// A path as `a -> b -> c`, its middle elided past 20 nodes.
    static func shortened(_ path: [String]) -> String {
        guard path.count > 20 else { return path.joined(separator: " -> ") }
        return (path.prefix(10) + ["… \(path.count - 20) more …"] + path.suffix(10)).joined(separator: " -> ")
    }
}
