import LuaKit

extension NodeEngine {
    /// `fs.read@1`: read-only access under the roots the node grants. Every function returns
    /// `nil, message` when the path is refused or the file cannot be read, so a script can report
    /// and go on; a wrong argument type raises.
    func makeFileTable(_ access: FileAccess) throws -> LuaRef {
        let table = try lua.ref(.table(LuaTable()))
        /// Runs `body` on the path argument; a refusal becomes `nil, "fs.fn: message"`.
        func function(_ name: String, _ body: @escaping (String) throws(FileAccessError) -> LuaValue) throws -> LuaRef {
            try hostFunction("fs.\(name)") { call in
                let path = try call.string(1)
                let result: Result<LuaValue, FileAccessError>
                do throws(FileAccessError) { result = .success(try body(path)) } catch { result = .failure(error) }
                switch result {
                case .success(let v): return try call.results(v)
                case .failure(let e): return try call.results(LuaValue.nil, "fs.\(name): \(e.message)")
                }
            }
        }
        try table.set("roots", try hostFunction("fs.roots") { call in
            try call.results(LuaValue.table(LuaTable(array: access.roots.keys.sorted().map { .string(LuaString($0)) })))
        })
        try table.set("list", try function("list") { path throws(FileAccessError) in
            let entries = try access.list(path)
            var rows: [LuaValue] = []
            rows.reserveCapacity(entries.count)
            for e in entries { rows.append(["path": .string(LuaString(e.path)), "size": .integer(Int64(e.size))]) }
            return .table(LuaTable(array: rows))
        })
        try table.set("read", try function("read") { path throws(FileAccessError) in .string(LuaString(bytes: try access.read(path))) })
        try table.set("stat", try function("stat") { path throws(FileAccessError) in
            let s = try access.status(path)
            let row: LuaValue = ["kind": .string(LuaString(s.kind.rawValue)), "size": .integer(Int64(s.size)), "modified": .number(s.modified)]
            return row
        })
        try table.set("hash", try function("hash") { path throws(FileAccessError) in .string(LuaString(try access.hash(path))) })
        return try lua.readOnly(table)
    }
}
