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

    /// The longest line `memory(_:number:)` parses: a memory's text and tags with room for escapes.
    public static let maxLineBytes = 1 << 20
    /// Times (created, last_used, expires) are seconds since 1970 up to this (about the year 33658).
    public static let maxTime = 1e12

    /// Parses one line; the error names the line number and the field. Integer fields must be
    /// whole numbers in their range (not 1e300, 1.5, true or -1), times finite and in range; the
    /// memory must pass the store's own checks.
    public static func memory(_ line: String, number lineNumber: Int) throws -> Memory {
        func bad(_ why: String) -> MemoryError { MemoryError("line \(lineNumber): \(why)") }
        guard line.utf8.count <= maxLineBytes else { throw bad("the line is \(line.utf8.count) bytes; the limit is \(maxLineBytes)") }
        let fields: Fields
        do { fields = try JSONDecoder().decode(Fields.self, from: Data(line.utf8)) } catch let error as DecodingError {
            throw bad(explain(error))
        } catch let error as MemoryError {
            throw bad(error.message)
        }
        let m = fields.memory
        do { try m.validate() } catch { throw bad(error.message) }
        return m
    }

    static func explain(_ error: DecodingError) -> String {
        func field(_ context: DecodingError.Context) -> String {
            context.codingPath.first.map { "'\($0.stringValue)'" } ?? "the line"
        }
        switch error {
        case .keyNotFound(let key, _): return "'\(key.stringValue)' is missing"
        case .valueNotFound(_, let c): return "\(field(c)) must not be null"
        case .typeMismatch(let type, let c):
            let what = type == Int64.self || type == Int.self ? "an integer"
                : type == Double.self ? "a number" : type == String.self ? "a string"
                : type == [String].self ? "an array of strings" : c.codingPath.isEmpty ? "a JSON object" : "of another type"
            return c.codingPath.isEmpty ? "not a JSON object" : "\(field(c)) must be \(what)"
        case .dataCorrupted(let c):
            return c.codingPath.isEmpty ? "not a JSON object" : "\(field(c)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// A line's fields, decoded strictly.
    struct Fields: Decodable {
        var memory: Memory

        enum Key: String, CodingKey {
            case id, agent, kind, text, tags, importance, outcome, task
            case sourceAgent = "source_agent", sourceNode = "source_node", derivedFrom = "derived_from"
            case created, lastUsed = "last_used", useCount = "use_count", expires
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            /// The value at `key`, or nil when absent or null; any other type is "must be `what`".
            func get<T: Decodable>(_ type: T.Type, _ key: Key, _ what: String) throws -> T? {
                // Any error: Foundation reports a number that does not fit as its own JSONError.
                do { return try c.decodeIfPresent(type, forKey: key) } catch {
                    throw MemoryError("'\(key.stringValue)' must be \(what)")
                }
            }
            func integer(_ key: Key, _ range: ClosedRange<Int64>) throws -> Int64? {
                guard let v = try get(Int64.self, key, "an integer between \(range.lowerBound) and \(range.upperBound)") else { return nil }
                guard range.contains(v) else {
                    throw MemoryError("'\(key.stringValue)' is \(v); it must be between \(range.lowerBound) and \(range.upperBound)")
                }
                return v
            }
            func time(_ key: Key) throws -> Double? {
                guard let v = try get(Double.self, key, "a number of seconds since 1970") else { return nil }
                guard v.isFinite, (0...MemoryJSON.maxTime).contains(v) else {
                    throw MemoryError("'\(key.stringValue)' is \(v); it must be seconds since 1970, between 0 and \(MemoryJSON.maxTime)")
                }
                return v
            }
            func enumeration<E: RawRepresentable<String> & CaseIterable>(_ key: Key, _: E.Type) throws -> E? {
                guard let s = try get(String.self, key, "a string") else { return nil }
                guard let v = E(rawValue: s) else {
                    throw MemoryError("unknown \(key.stringValue) '\(s.prefix(64))'; use one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return v
            }
            guard let id = try integer(.id, 1...Int64.max) else { throw MemoryError("'id' is missing") }
            guard let kind = try enumeration(.kind, Memory.Kind.self) else { throw MemoryError("'kind' is missing") }
            func string(_ key: Key) throws -> String {
                guard let s = try get(String.self, key, "a string") else { throw MemoryError("'\(key.stringValue)' is missing") }
                return s
            }
            guard let importance = try get(Double.self, .importance, "a number between 0 and 1") else {
                throw MemoryError("'importance' is missing")
            }
            guard importance.isFinite, (0...1).contains(importance) else {
                throw MemoryError("'importance' is \(importance); it must be between 0 and 1")
            }
            guard let created = try time(.created) else { throw MemoryError("'created' is missing") }
            memory = Memory(
                id: id, agent: try string(.agent), kind: kind, text: try string(.text),
                tags: try get([String].self, .tags, "an array of strings") ?? [], importance: importance,
                outcome: try enumeration(.outcome, Memory.Outcome.self), task: try get(String.self, .task, "a string"),
                sourceAgent: try string(.sourceAgent), sourceNode: try string(.sourceNode),
                derivedFrom: try integer(.derivedFrom, 1...Int64.max), created: created, lastUsed: try time(.lastUsed),
                useCount: Int(try integer(.useCount, 0...Int64(Int32.max)) ?? 0), expires: try time(.expires))
        }
    }
}
