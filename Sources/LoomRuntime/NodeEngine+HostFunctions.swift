import DequeModule
import Foundation
import Logging
import LoomMemory
import LoomCore
import LuaKit

/// The host API given to Lua: the functions agents and skills call, and the capability tables.
extension NodeEngine {
    /// Makes a host function, noting its name.
    func hostFunction(_ name: String, _ body: @escaping LuaState.HostFunction) throws(LuaError) -> LuaRef {
        hostFunctionNames.insert(name)
        return try lua.function(name, body)
    }

    func makeHostAPI() throws {
        let prelude = try lua.load("""
            local yield = coroutine.yield
            local api = {}
            function api.ask(to, task, opts) return yield("loom.ask", to, task, opts) end
            function api.ask_all(requests, opts) return yield("loom.ask_all", requests, opts) end
            function api.sleep(seconds) return yield("loom.sleep", seconds) end
            return api
            """, name: "loom/prelude.lua", environment: .globals)
        let table = try prelude.callRef()
        for key in ["ask", "ask_all", "sleep"] { api[key] = try table.rawRef(key) }

        // `send` is the mail's C function; it hands anything that is not a message between two of
        // this node's agents (another node, `$host`, a dormant instance not made yet, a stopped
        // agent) to this host function.
        let hostSend = try hostFunction("send") { [unowned self] call in
            let to = try call.string(1)
            let message = try call.value(2)
            switch self.enqueue(Envelope(from: self.currentAddress, to: try self.address(to), kind: .send, payload: message)) {
            case .success: return try call.results(true)
            case .failure(let e): return try call.results(LuaValue.nil, e.message)
            }
        }
        api["send"] = try mail.sendFunction(fallback: hostSend)
        api["now"] = try hostFunction("now") { call in
            try call.results(Date().timeIntervalSince1970)
        }
        api["use"] = try hostFunction("use") { [unowned self] call in
            let key = try call.string(1)
            guard let agent = self.current else { throw LuaError(kind: .runtime, message: "use: no agent is running") }
            guard let ref = try? CapabilityRef(key), agent.manifest.uses.contains(where: { $0.key == ref.key }) else {
                throw LuaError(kind: .runtime, message: "use: agent '\(agent.name)' does not declare \(key) in agent.toml uses")
            }
            return try call.results(try self.module(ref.key))
        }
        let log = try lua.ref(.table(LuaTable()))
        for level in ["info", "warn", "error"] {
            try log.set(level, try hostFunction("log.\(level)") { [unowned self] call in
                var parts: [String] = []
                for i in 1...max(1, call.argumentCount) where i <= call.argumentCount {
                    parts.append((try? call.value(i))?.description ?? "?")
                }
                var logger = self.logger
                if let agent = self.current { logger[metadataKey: "agent"] = .string(agent.name) }
                let message = Logger.Message(stringLiteral: parts.joined(separator: " "))
                switch level {
                case "warn": logger.warning(message)
                case "error": logger.error(message)
                default: logger.info(message)
                }
                return call.results()
            })
        }
        logTable = try lua.readOnly(log)
        hostTables["log@1"] = logTable
        let clockTable = try lua.ref(.table(LuaTable()))
        try clockTable.set("now", api["now"]!)
        try clockTable.set("sleep", api["sleep"]!)
        hostTables["clock@1"] = try lua.readOnly(clockTable)
        let messaging = try lua.ref(.table(LuaTable()))
        for key in ["send", "ask", "ask_all"] { try messaging.set(key, api[key]!) }
        hostTables["messaging@1"] = try lua.readOnly(messaging)
        if let memory = store.memoryStore() { hostTables["memory@1"] = try makeMemoryTable(memory) }
        hostTables["fs.read@1"] = try makeFileTable(try FileAccess(roots: options.fileRoots, limits: options.fileLimits))
    }

    /// The module or host table serving `key`.
    func module(_ key: String) throws(LuaError) -> LuaRef {
        if let m = modules[key] ?? hostTables[key] { return m }
        throw LuaError(kind: .runtime, message: "use: \(key) is not available on node '\(name)' in this version of Loom")
    }
}
