import Foundation

/// Memories as JSON lines, for `loom memory NODE export --jsonl` and `import`: one object per line
/// with every field, so that export then import into an empty store gives the same memories.
public enum MemoryJSON: Sendable {
    public static func line(_ m: Memory) throws -> String {
        var o: [String: Any] = [
            "id": m.id, "agent": m.agent, "kind": m.kind.rawValue, "text": m.text, "tags": m.tags,
            "importance": m.importance, "source_agent": m.sourceAgent, "source_node": m.sourceNode,
            "created": m.created, "use_count": m.useCount,
        ]
        if let v = m.outcome { o["outcome"] = v.rawValue }
        if let v = m.task { o["task"] = v }
        if let v = m.derivedFrom { o["derived_from"] = v }
        if let v = m.lastUsed { o["last_used"] = v }
        if let v = m.expires { o["expires"] = v }
        let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one line; the error names the line number and the field.
    public static func memory(_ line: String, number lineNumber: Int) throws -> Memory {
        func bad(_ why: String) -> MemoryError { MemoryError("line \(lineNumber): \(why)") }
        guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { throw bad("not a JSON object") }
        func string(_ k: String) throws -> String {
            guard let v = o[k] as? String else { throw bad("'\(k)' must be a string") }
            return v
        }
        func number(_ k: String) throws -> Double {
            guard let v = o[k] as? NSNumber else { throw bad("'\(k)' must be a number") }
            return v.doubleValue
        }
        guard let id = (o["id"] as? NSNumber)?.int64Value else { throw bad("'id' must be an integer") }
        guard let kind = Memory.Kind(rawValue: try string("kind")) else { throw bad("unknown kind") }
        let outcome = try (o["outcome"] as? String).map { s throws -> Memory.Outcome in
            guard let v = Memory.Outcome(rawValue: s) else { throw bad("unknown outcome '\(s)'") }
            return v
        }
        return Memory(id: id, agent: try string("agent"), kind: kind, text: try string("text"),
                      tags: o["tags"] as? [String] ?? [], importance: try number("importance"), outcome: outcome,
                      task: o["task"] as? String, sourceAgent: try string("source_agent"), sourceNode: try string("source_node"),
                      derivedFrom: (o["derived_from"] as? NSNumber)?.int64Value, created: try number("created"),
                      lastUsed: (o["last_used"] as? NSNumber)?.doubleValue, useCount: (o["use_count"] as? NSNumber)?.intValue ?? 0,
                      expires: (o["expires"] as? NSNumber)?.doubleValue)
    }
}
