@testable import LoomCore
import LoomBench
import Testing

@Suite("C3 lineage")
struct LineageTests {
    static func order(_ root: String, _ graph: [String: [String]]) throws(LineageError) -> [String] {
        try C3.linearize(root) { name throws(LineageError) in
            guard let parents = graph[name] else { throw .missingAncestor(node: "?", parent: name, searched: []) }
            return parents
        }
    }

    @Test("a diamond")
    func diamond() throws {
        let graph = ["d": ["b", "c"], "b": ["a"], "c": ["a"], "a": []]
        #expect(try Self.order("d", graph) == ["d", "b", "c", "a"])
    }

    @Test("the classic example (Wikipedia's C3 article) gives Python's order")
    func classic() throws {
        let graph = ["o": [], "a": ["o"], "b": ["o"], "c": ["o"], "d": ["o"], "e": ["o"],
                     "k1": ["a", "b", "c"], "k2": ["d", "b", "e"], "k3": ["d", "a"], "z": ["k1", "k2", "k3"]]
        #expect(try Self.order("z", graph) == ["z", "k1", "k2", "k3", "d", "a", "b", "c", "e", "o"])
    }

    @Test("the order Python refuses: X(A, B), Y(B, A), Z(X, Y)")
    func inconsistent() throws {
        let graph = ["a": [], "b": [], "x": ["a", "b"], "y": ["b", "a"], "z": ["x", "y"]]
        do {
            _ = try Self.order("z", graph)
            Issue.record("expected an error")
        } catch {
            guard case .inconsistent(let node, let candidates, let constraints) = error else {
                Issue.record("wrong error \(error)")
                return
            }
            #expect(node == "z")
            #expect(candidates == ["a", "b"])
            #expect(constraints.contains("y puts b before a"))
            #expect(constraints.contains("x puts a before b"))
            #expect(error.description.contains("no consistent order (C3)"))
        }
    }

    @Test("a deep chain")
    func deepChain() throws {
        var graph: [String: [String]] = ["n0": []]
        for i in 1...500 { graph["n\(i)"] = ["n\(i - 1)"] }
        let order = try Self.order("n500", graph)
        #expect(order.count == 501)
        #expect(order.first == "n500")
        #expect(order.last == "n0")
    }

    @Test("a cycle names its path")
    func cycle() {
        let graph = ["a": ["b"], "b": ["c"], "c": ["a"]]
        do {
            _ = try Self.order("a", graph)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "lineage cycle: a -> b -> c -> a; a node cannot descend from itself")
        }
    }

    @Test("the synthetic lineage of the benchmark orders and resolves")
    func synthetic() throws {
        let records = SyntheticLineage.make(layers: 20, width: 5, skillsPerNode: 4)
        let lineage = try Lineage(root: records["root"]!, known: records)
        #expect(lineage.nodes.count == 101)
        let resolution = try Resolver().resolve(lineage)
        #expect(resolution.bindings.count == 20)
    }

    /// C3 as written in the literature: recursive, whole lists. The reference for the shared-tail version.
    static func reference(_ root: String, _ graph: [String: [String]]) -> [String]? {
        var memo: [String: [String]] = [:]
        func lin(_ n: String, _ depth: Int) -> [String]? {
            if let m = memo[n] { return m }
            guard depth < 100 else { return nil }
            var seqs: [[String]] = []
            for p in graph[n]! {
                guard let l = lin(p, depth + 1) else { return nil }
                seqs.append(l)
            }
            seqs.append(graph[n]!)
            var out = [n]
            while true {
                seqs = seqs.filter { !$0.isEmpty }
                if seqs.isEmpty { break }
                guard let head = seqs.map(\.[0]).first(where: { h in !seqs.contains { $0.dropFirst().contains(h) } }) else { return nil }
                out.append(head)
                seqs = seqs.map { $0.first == head ? Array($0.dropFirst()) : $0 }
            }
            memo[n] = out
            return out
        }
        return lin(root, 0)
    }

    @Test("random lineages order as the textbook C3 does, or fail where it fails")
    func randomAgainstReference() throws {
        var rng = SplitMix(seed: 14)
        for _ in 0..<3000 {
            let n = Int(rng.next() % 12) + 1
            var graph: [String: [String]] = [:]
            for i in 0..<n {
                // Parents among the earlier nodes, in a random order, sometimes with duplicates.
                var parents: [String] = []
                if i > 0 {
                    for _ in 0..<Int(rng.next() % 4) { parents.append("n\(rng.next() % UInt64(i))") }
                }
                graph["n\(i)"] = parents
            }
            let root = "n\(n - 1)"
            let expected = Self.reference(root, graph)
            do {
                let got = try Self.order(root, graph)
                #expect(got == expected, "\(graph)")
            } catch {
                #expect(expected == nil, "\(graph): \(error)")
                guard case .inconsistent = error else { Issue.record("\(graph): \(error)"); continue }
            }
        }
    }

    @Test("a chain of 100,000 nodes: no recursion, memory linear", .timeLimit(.minutes(1)))
    func hugeChain() throws {
        let n = 100_000
        let order = try C3.linearize("n\(n)") { name throws(LineageError) in
            let i = Int(name.dropFirst())!
            return i == 0 ? [] : ["n\(i - 1)"]
        }
        #expect(order.count == n + 1)
        #expect(order.first == "n\(n)")
        #expect(order.last == "n0")
    }

    @Test("a ladder of 20,000 nodes, each with two parents", .timeLimit(.minutes(1)))
    func hugeLadder() throws {
        let n = 20_000
        let order = try C3.linearize("n\(n)") { name throws(LineageError) in
            let i = Int(name.dropFirst())!
            return i == 0 ? [] : i == 1 ? ["n0"] : ["n\(i - 1)", "n\(i - 2)"]
        }
        #expect(order == (0...n).reversed().map { "n\($0)" })
    }

    @Test("wide: one node with 2,000 parents, each a chain of 4", .timeLimit(.minutes(1)))
    func wide() throws {
        var graph: [String: [String]] = ["root": (0..<2000).map { "p\($0)" }]
        for i in 0..<2000 {
            graph["p\(i)"] = ["q\(i)"]
            graph["q\(i)"] = ["r\(i)"]
            graph["r\(i)"] = ["base"]
        }
        graph["base"] = []
        let order = try Self.order("root", graph)
        #expect(order.count == 6002)
        #expect(order[1] == "p0" && order[2] == "q0" && order[3] == "r0" && order[4] == "p1")
        #expect(order.last == "base")
    }

    @Test("a cycle through 10,000 nodes is reported, its path shortened", .timeLimit(.minutes(1)))
    func hugeCycle() {
        let n = 10_000
        do {
            _ = try C3.linearize("n0") { name throws(LineageError) in ["n\((Int(name.dropFirst())! + 1) % n)"] }
            Issue.record("expected an error")
        } catch {
            guard case .cycle(let path) = error else { Issue.record("wrong error \(error)"); return }
            #expect(path.count == n + 1)
            #expect(error.description.hasPrefix("lineage cycle: n0 -> n1 -> "))
            #expect(error.description.contains("… 9981 more …"))
            #expect(error.description.count < 500)
        }
    }
}

/// A small deterministic generator.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
