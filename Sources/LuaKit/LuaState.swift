internal import CLuaShim
import Foundation

/// One Lua 5.4 virtual machine, with its budgets and its sandbox.
///
/// A `LuaState` is not `Sendable`: it belongs to one isolation domain (in Loom, a node's actor),
/// and only that domain touches the VM. Every entry into Lua (a call, a resume, a compile) runs
/// under a traceback handler, the deadline and optional instruction budget of ``limits``, and the
/// memory cap; a failure comes back as a thrown ``LuaError`` and the state stays usable.
///
/// ```swift
/// let lua = try LuaState(limits: LuaLimits(timeout: .milliseconds(200)))
/// let env = try lua.newEnvironment()
/// try lua.register("add", in: env) { call in
///     try call.results(try call.integer(1) + call.integer(2))
/// }
/// let chunk = try lua.load("return add(...)", name: "example.lua", environment: .table(env))
/// let sum = try chunk.call(Int64(2), Int64(3), as: Int64.self)   // 5
/// ```
///
/// Values obtained from the state (``LuaRef``, ``LuaCoroutine``) share its isolation domain and
/// fail with a `state` error once it is closed. The VM closes on ``close()``, or when the state and
/// every reference into it are gone.
///
/// Chunks loaded with the default ``Environment/sandbox`` each get a fresh environment built from an
/// allowlist (see `docs/lua-api.md`). The state's own global table, with the full base library, is
/// for host code only (``Environment/globals``).
public final class LuaState {
    /// A host function: reads its arguments from the call and returns its results.
    public typealias HostFunction = (LuaCall) throws -> LuaCall.Results

    /// Where a loaded chunk looks up its globals.
    public enum Environment {
        /// A fresh sandbox environment of its own. The default.
        case sandbox
        /// The given table (usually one made by ``LuaState/newEnvironment()``).
        case table(LuaRef)
        /// The state's unsandboxed global table. For trusted host code only.
        case globals
    }

    package let core: LuaCore

    /// The budgets for every entry. Changing them applies to the next entry.
    public var limits: LuaLimits {
        didSet { apply(limits) }
    }

    /// Creates a VM with the given limits, its standard libraries and its sandbox built.
    ///
    /// The VM joins the process's watchdog thread (started with the first state), which enforces
    /// every entry's deadline.
    /// - Throws: `memory` when the memory cap is too small to build the libraries and the sandbox.
    public init(limits: LuaLimits = .standard) throws(LuaError) {
        _ = HostFunctionBox.installCallbacks
        guard let L = loom_newstate(limits.memory.map { max(0, $0) } ?? 0) else {
            throw LuaError(kind: .memory, message: "cannot create a Lua state within \(limits.memory ?? 0) bytes")
        }
        core = LuaCore(L)
        self.limits = limits
        apply(limits)
    }

    private func apply(_ limits: LuaLimits) {
        guard let L = core.L else { return }
        loom_set_timeout(L, limits.timeoutNanoseconds)
        loom_set_memory_limit(L, limits.memory.map { max(0, $0) } ?? 0)
        loom_set_instruction_limit(L, Int64(limits.instructions ?? 0))
    }

    /// Bytes the VM has allocated now.
    public var memoryUsed: Int {
        guard let L = core.L else { return 0 }
        return loom_memory_used(L)
    }

    /// Whether ``close()`` has run.
    public var isClosed: Bool { core.L == nil }

    /// Closes the VM: finalizers run under the state's deadline, every host function is released,
    /// and every ``LuaRef`` into it becomes dead. Closing twice does nothing. Throws when called from
    /// inside one of the state's own calls.
    public func close() throws(LuaError) {
        try core.close(budgetNanoseconds: limits.timeoutNanoseconds)
    }

    // MARK: Loading

    /// Compiles Lua source text into a function. Binary chunks are refused.
    ///
    /// - Parameters:
    ///   - source: the text.
    ///   - name: the chunk name used in messages and tracebacks, usually the file path.
    ///   - environment: where its globals live; a fresh sandbox by default.
    /// - Returns: the compiled chunk, a function to ``LuaRef/call(_:)`` (loading runs nothing).
    /// - Throws: `syntax` for invalid Lua (with the chunk and line) or a binary chunk; `timeout` or
    ///   `budget` when compiling runs past the deadline or budget (compiling is an entry); `memory`.
    public func load(_ source: String, name: String, environment: Environment = .sandbox) throws(LuaError) -> LuaRef {
        try load(bytes: Array(source.utf8), name: name, environment: environment)
    }

    /// Compiles Lua source given as bytes (which need not be UTF-8), as ``load(_:name:environment:)``.
    public func load(bytes: [UInt8], name: String, environment: Environment = .sandbox) throws(LuaError) -> LuaRef {
        let L = try core.open()
        let base = lua_gettop(L)
        try LuaStack(L).reserve(4)
        var envIndex: Int32 = 0
        switch environment {
        case .sandbox: break
        case .table(let ref):
            ref.push(L)
            envIndex = lua_gettop(L)
        case .globals:
            _ = loom_rawgeti_registry(L, Int32(LUA_RIDX_GLOBALS))
            envIndex = lua_gettop(L)
        }
        let chunkName = "@" + name
        let status = bytes.withUnsafeBytes { buffer in
            LuaStack.withChars(buffer) { chars, count in
                chunkName.withCString { loom_load(L, chars, count, $0, envIndex) }
            }
        }
        guard status == LUA_OK else { throw core.takeError(status, base: base) }
        if envIndex != 0 { loom_remove(L, envIndex) }
        return try core.popRef()
    }

    /// Reads and compiles a Lua file; the chunk is named by its path, as given.
    /// - Throws: `state` when the file cannot be read; otherwise as ``load(_:name:environment:)``.
    public func loadFile(_ path: String, environment: Environment = .sandbox) throws(LuaError) -> LuaRef {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LuaError(kind: .state, message: "cannot read \(path): no such file or not readable", chunk: path)
        }
        return try load(bytes: Array(data), name: path, environment: environment)
    }

    /// Loads and runs a chunk (in a fresh sandbox environment unless `environment` says otherwise)
    /// and returns its results as copies.
    @discardableResult
    public func run(_ source: String, name: String = "chunk", environment: Environment = .sandbox) throws(LuaError) -> [LuaValue] {
        try load(source, name: name, environment: environment).call()
    }

    // MARK: Environments and functions

    /// A new sandbox environment table: its own globals over the shared, read-only allowlist.
    /// Host functions set into it are visible to the chunks loaded with it.
    public func newEnvironment() throws(LuaError) -> LuaRef {
        let L = try core.open()
        try LuaStack(L).reserve(4)
        try LuaStack(L).check(loom_new_env_p(L))
        return try core.popRef()
    }

    /// The state's unsandboxed global table, for host code.
    public var globals: LuaRef {
        get throws(LuaError) {
            let L = try core.open()
            _ = loom_rawgeti_registry(L, Int32(LUA_RIDX_GLOBALS))
            return try core.popRef()
        }
    }

    /// Makes a Lua function that calls `body`. Set it into an environment with ``LuaRef/set(_:_:)-(_,LuaRef)``.
    ///
    /// `body` must not keep the ``LuaCall`` beyond its return. An error it throws becomes a Lua error
    /// with the error's message (a ``LuaError``'s message as is; other errors prefixed by `name`).
    public func function(_ name: String, _ body: @escaping HostFunction) throws(LuaError) -> LuaRef {
        let L = try core.open()
        try LuaStack(L).reserve(4)
        let box = Unmanaged.passRetained(HostFunctionBox(name: name, body: body))
        let status = loom_push_swift_function(L, box.toOpaque())
        if status != LUA_OK {
            box.release()
            try LuaStack(L).check(status)
        }
        return try core.popRef()
    }

    /// A Lua function that returns the traceback of the running thread under its argument, for
    /// `xpcall` in trusted harness code such as the test runner.
    public func tracebackFunction() throws(LuaError) -> LuaRef {
        let L = try core.open()
        try LuaStack(L).reserve(2)
        loom_pushcfunction(L, loom_traceback_function)   // a light C function: no allocation
        return try core.popRef()
    }

    /// Makes a host function and sets it as `name` in `environment`.
    /// - Throws: `conversion` when `environment` is not a table; `memory`.
    public func register(_ name: String, in environment: LuaRef, _ body: @escaping HostFunction) throws(LuaError) {
        try environment.set(name, function(name, body))
    }

    /// A read-only view of a table: reads see the table, writes and rawset fail, for values shared
    /// between chunks.
    public func readOnly(_ table: LuaRef) throws(LuaError) -> LuaRef {
        let L = try core.open()
        try LuaStack(L).reserve(4)
        table.push(L)
        let status = loom_readonly_p(L, -1)
        if status != LUA_OK {
            defer { loom_pop(L, 1) }
            try LuaStack(L).check(status)
        }
        loom_remove(L, -2)
        return try core.popRef()
    }

    /// Pushes `value` and returns a reference to the Lua copy (for tables you want to pass by
    /// reference to several calls).
    public func ref(_ value: LuaValue) throws(LuaError) -> LuaRef {
        let L = try core.open()
        let base = lua_gettop(L)
        do {
            try LuaStack(L).reserve(4)
            try LuaStack(L).push(value)
        } catch {
            lua_settop(L, base)
            throw error
        }
        return try core.popRef()
    }
}

@available(*, unavailable)
extension LuaState: Sendable {}

@available(*, unavailable)
extension LuaState.Environment: Sendable {}
