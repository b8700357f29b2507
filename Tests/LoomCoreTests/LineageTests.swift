@testable import LoomCore
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
}
