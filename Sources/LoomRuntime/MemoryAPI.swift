import Foundation
import LoomMemory
import LuaKit

/// `memory@1`: the agent memory host capability. Every function acts for the agent whose handler is
/// running (skills with the `memory` permission act for the agent that called them).
extension NodeEngine {
    func makeMemoryTable(_ store: any MemoryStore) throws -> LuaRef {
        let table = try lua.ref(.table(LuaTable()))
        func agent(_ fn: String) throws(LuaError) -> String {
            guard let a = current else { throw LuaError(kind: .runtime, message: "memory.\(fn): no agent is running") }
            return a.name
        }
        func fail(_ fn: String, _ error: any Error) -> LuaError {
            LuaError(kind: .runtime, message: "memory.\(fn): \(error)")
        }
        try table.set("remember", try hostFunction("memory.remember") { [unowned self] call in
            let who = try agent("remember")
            var m = Memory(agent: who, text: try call.string(1), sourceNode: self.name)
            try Self.apply(options: try call.isAbsent(2) ? .nil : call.value(2), to: &m, fn: "remember")
            do {
                let id = try store.stage(m)   // committed at the end of the step (group commit)
                self.held.remembered = true
                return try call.results(id)
            } catch { throw fail("remember", error) }
        })
        try table.set("learn", try hostFunction("memory.learn") { [unowned self] call in
            let who = try agent("learn")
            let task = try call.string(1)
            let outcomeText = try call.string(2)
            guard let outcome = Memory.Outcome(rawValue: outcomeText) else {
                throw call.argumentError(2, "outcome must be \"worked\" or \"failed\"")
            }
            let notes = try call.optionalString(3) ?? "\(task): \(outcomeText)"
            let m = Memory(agent: who, kind: .episodic, text: notes, outcome: outcome, task: task, sourceNode: self.name)
            do {
                let id = try store.stage(m)
                self.held.remembered = true
                return try call.results(id)
            } catch { throw fail("learn", error) }
        })
        try table.set("recall", try hostFunction("memory.recall") { call in
            let who = try agent("recall")
            let query = try call.optionalString(1) ?? ""
            var options = RecallOptions()
            if !call.isAbsent(2) {
                guard case .table(let t) = try call.value(2) else { throw call.argumentError(2, "options must be a table") }
                for (k, v) in t.entries {
                    switch k.string {
                    case "k":
                        guard let n = v.integer else { throw call.argumentError(2, "k must be an integer") }
                        options.k = Int(n)
                    case "kind":
                        let names = v.table?.array.compactMap(\.string) ?? [v.string].compactMap { $0 }
                        options.kinds = try names.map { name throws(LuaError) in
                            guard let kind = Memory.Kind(rawValue: name) else {
                                throw call.argumentError(2, "unknown kind \"\(name)\" (episodic, semantic or procedural)")
                            }
                            return kind
                        }
                    case "tags":
                        guard let list = v.table?.array.compactMap(\.string) else { throw call.argumentError(2, "tags must be a list of strings") }
                        options.tags = list
                    case "since":
                        guard let s = v.number else { throw call.argumentError(2, "since must be a time in seconds") }
                        options.since = s
                    case "commons":
                        guard let b = v.boolean else { throw call.argumentError(2, "commons must be a boolean") }
                        options.commons = b
                    default:
                        throw call.argumentError(2, "unknown option '\(k.description)' (k, kind, tags, since, commons)")
                    }
                }
            }
            let found: [RecalledMemory]
            do { found = try store.recall(agent: who, query: query, options: options) } catch { throw fail("recall", error) }
            let list: [LuaValue] = found.map { r in
                var t: LuaValue = ["id": .integer(r.memory.id), "text": .string(LuaString(r.memory.text)), "score": .number(r.score),
                                   "kind": .string(LuaString(r.memory.kind.rawValue)), "importance": .number(r.memory.importance),
                                   "created": .number(r.memory.created),
                                   "tags": .table(LuaTable(array: r.memory.tags.map { .string(LuaString($0)) }))]
                if case .table(var tt) = t {
                    if let o = r.memory.outcome { tt["outcome"] = .string(LuaString(o.rawValue)) }
                    if let task = r.memory.task { tt["task"] = .string(LuaString(task)) }
                    if r.memory.agent == Commons.agent { tt["author"] = .string(LuaString(r.memory.sourceAgent)) }
                    t = .table(tt)
                }
                return t
            }
            return try call.results(LuaValue.table(LuaTable(array: list)))
        })
        try table.set("forget", try hostFunction("memory.forget") { call in
            let who = try agent("forget")
            let id = try call.integer(1)
            do { return try call.results(try store.forget(agent: who, id: id)) } catch { throw fail("forget", error) }
        })
        try table.set("share", try hostFunction("memory.share") { call in
            let who = try agent("share")
            let id = try call.integer(1)
            do { return try call.results(try store.share(agent: who, id: id)) } catch { throw fail("share", error) }
        })
        try table.set("consolidate", try hostFunction("memory.consolidate") { call in
            let who = try agent("consolidate")
            do {
                let r = try store.consolidate(agent: who, now: Date().timeIntervalSince1970)
                let report: LuaValue = ["expired": .integer(Int64(r.expired)), "merged": .integer(Int64(r.merged)),
                                        "folded": .integer(Int64(r.folded)), "summaries": .integer(Int64(r.summaries))]
                return try call.results(report)
            } catch { throw fail("consolidate", error) }
        })
        try table.set("lessons", try hostFunction("memory.lessons") { call in
            let who = try agent("lessons")
            let task = try call.string(1)
            let found: [Memory]
            do { found = try store.lessons(agent: who, task: task) } catch { throw fail("lessons", error) }
            var worked: [LuaValue] = [], failed: [LuaValue] = []
            for m in found {
                let entry: LuaValue = ["id": .integer(m.id), "text": .string(LuaString(m.text)), "created": .number(m.created)]
                if m.outcome == .worked { worked.append(entry) } else { failed.append(entry) }
            }
            let lessons: LuaValue = ["worked": .table(LuaTable(array: worked)), "failed": .table(LuaTable(array: failed))]
            return try call.results(lessons)
        })
        return try lua.readOnly(table)
    }

    /// Applies remember's options table; unknown keys and bad values are errors naming the option.
    /// The memory is validated by the store (`stage`), whose errors read the same.
    static func apply(options: LuaValue, to m: inout Memory, fn: String) throws(LuaError) {
        func bad(_ message: String) -> LuaError { LuaError(kind: .runtime, message: "memory.\(fn): \(message)") }
        guard case .table(let t) = options else {
            if options.isNil { return }
            throw bad("options must be a table")
        }
        // Each known key looked up once (no sorted walk of every entry: this runs per remember);
        // a key left over is unknown, and the first of them in table order is named.
        var known = 0
        if let v = Self.option(t, "kind") {
            known += 1
            guard let s = v.string, let kind = Memory.Kind(rawValue: s) else { throw bad("kind must be \"episodic\", \"semantic\" or \"procedural\"") }
            m.kind = kind
        }
        if let v = Self.option(t, "tags") {
            known += 1
            guard let list = v.table, list.hash.isEmpty, list.array.allSatisfy({ $0.string != nil }) else {
                throw bad("tags must be a list of strings")
            }
            m.tags = list.array.compactMap(\.string)
        }
        if let v = Self.option(t, "importance") {
            known += 1
            guard let n = v.number else { throw bad("importance must be a number between 0 and 1") }
            m.importance = n
        }
        if let v = Self.option(t, "outcome") {
            known += 1
            guard let s = v.string, let o = Memory.Outcome(rawValue: s) else { throw bad("outcome must be \"worked\" or \"failed\"") }
            m.outcome = o
        }
        if let v = Self.option(t, "task") {
            known += 1
            guard let s = v.string else { throw bad("task must be a string") }
            m.task = s
        }
        if let v = Self.option(t, "ttl") {
            known += 1
            guard let n = v.number, n > 0 else { throw bad("ttl must be a positive number of seconds") }
            m.expires = m.created + n
        }
        if known < t.count, let unknown = t.entries.first(where: { !Self.rememberOptions.contains($0.key.string ?? "") }) {
            throw bad("unknown option '\(unknown.key.description)' (kind, tags, importance, outcome, task, ttl)")
        }
    }

    /// The option `key`, nil when absent.
    private static func option(_ t: LuaTable, _ key: String) -> LuaValue? {
        let v = t[key]
        return v.isNil ? Optional.none : v   // (a bare `nil` would be LuaValue's own nil here)
    }

    static let rememberOptions: Set<String> = ["kind", "tags", "importance", "outcome", "task", "ttl"]
}
