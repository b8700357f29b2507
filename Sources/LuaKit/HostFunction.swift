internal import CLuaShim

/// The Swift closure behind a host function, retained by Lua through a userdata with `__gc`.
final class HostFunctionBox {
    let name: String
    let body: LuaState.HostFunction

    init(name: String, body: @escaping LuaState.HostFunction) {
        self.name = name
        self.body = body
    }

    /// Installs the dispatcher and release callbacks in the shim, once per process.
    static let installCallbacks: Void = {
        loom_set_swift_callbacks(hostDispatch, hostRelease)
    }()
}

/// Called by the C trampoline. Never raises: on error it pushes the message and returns LOOM_RAISE,
/// and the trampoline raises it in C, after every Swift frame has returned.
private func hostDispatch(_ L: OpaquePointer?, _ box: UnsafeMutableRawPointer?) -> Int32 {
    guard let L, let box else { return LOOM_RAISE }
    // Lua holds the box for the whole call: no retain needed to use it.
    let outcome: Result<Int32, any Error> = Unmanaged<HostFunctionBox>.fromOpaque(box)._withUnsafeGuaranteedRef { function in
        do {
            return .success(try function.body(LuaCall(stack: LuaStack(L), function: function)).count)
        } catch {
            return .failure(error)
        }
    }
    let message: String
    switch outcome {
    case .success(let count): return count
    case .failure(let error as LuaError): message = error.message
    case .failure(let error):
        let name = Unmanaged<HostFunctionBox>.fromOpaque(box).takeUnretainedValue().name
        message = "\(name): \(error)"
    }
    var text = message
    let status = text.withUTF8 { buffer in
        LuaStack.withChars(UnsafeRawBufferPointer(buffer)) { loom_pushlstring_p(L, $0, $1) }
    }
    _ = status  // on failure the memory error is on top, and that is what gets raised
    return LOOM_RAISE
}

/// Called from the userdata's `__gc`.
private func hostRelease(_ box: UnsafeMutableRawPointer?) {
    guard let box else { return }
    Unmanaged<HostFunctionBox>.fromOpaque(box).release()
}
