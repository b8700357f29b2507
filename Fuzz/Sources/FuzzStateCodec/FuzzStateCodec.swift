// Fuzz target `state-codec`: bytes -> StateCodec.decode, the reader of an agent's persisted state
// (a node decodes it on activation and sets it as the agent's `state`). A value that decodes is
// then taken the way a node takes it: encoded again (the canonical form must be a fixed point),
// pushed into a Lua state as a table, copied back out and encoded (the bytes must not change:
// what was stored is what the agent sees and stores again).
import LoomRuntime
import LuaKit

/// One VM for every input (a node keeps one per node); references are released after each run.
nonisolated(unsafe) let lua: LuaState? = try? LuaState(limits: LuaLimits(timeout: .seconds(2), memory: 256 << 20))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    // Seeds are written with the magic; inputs without it are given it, so the mutator's effort
    // goes past the header.
    if !bytes.starts(with: StateCodec.magic) { bytes = StateCodec.magic + bytes }
    guard let value = try? StateCodec.decode(bytes) else { return 0 }
    let canonical: [UInt8]
    do {
        canonical = try StateCodec.encode(value)
        let again = try StateCodec.encode(try StateCodec.decode(canonical))
        precondition(again == canonical, "encode(decode(encode(v))) differs from encode(v)")
    } catch {
        preconditionFailure("a decoded state does not encode and decode again: \(error)")
    }
    _ = value.debugDescription
    guard let lua else { fatalError("cannot create the Lua state") }
    do {
        let ref = try lua.ref(value)
        let back = try ref.value(path: "state")
        let stored = try StateCodec.encode(back)
        precondition(stored == canonical, "state pushed into Lua and copied back encodes differently")
    } catch {
        // A memory or conversion error is an answer, not a finding.
        _ = "\(error)"
    }
    return 0
}
