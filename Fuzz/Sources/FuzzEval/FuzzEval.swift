// Fuzz target `eval`: a Lua program run the way `loom eval` runs a file: a fresh sandboxed state,
// the chunk called under a deadline and a memory cap, every returned value copied out of Lua and
// printed as a literal, the state closed. A Lua error, a deadline or a memory error is an answer;
// a crash, a sanitizer report, a leak, or a run past libFuzzer's -timeout (the deadline escaped)
// is a finding.
//
// The first byte chooses the mode: below 0x20 the rest is Lua source as it is (seeds: Lua files);
// otherwise the bytes are choices for LuaGenerator. LOOM_FUZZ_PRINT=1 prints each program (to
// see what a reproducer runs); LOOM_FUZZ_AVOID_KNOWN=1 leaves out the known bugs' productions.
import Foundation
import LuaKit

let limits = LuaLimits(timeout: .milliseconds(100), memory: 16 << 20)
let printPrograms = ProcessInfo.processInfo.environment["LOOM_FUZZ_PRINT"] == "1"

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    LuaGenerator.avoidKnown = ProcessInfo.processInfo.environment["LOOM_FUZZ_AVOID_KNOWN"] == "1"
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0, let data else { return 0 }
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    let source: [UInt8] = bytes[0] < 0x20 ? Array(bytes.dropFirst()) : Array(LuaGenerator.program(Array(bytes.dropFirst())).utf8)
    if printPrograms { FileHandle.standardError.write(Data("---- program\n".utf8) + Data(source) + Data("\n----\n".utf8)) }
    do {
        let lua = try LuaState(limits: limits)
        do {
            let values = try lua.load(bytes: source, name: "fuzz.lua").call()
            for value in values { _ = value.debugDescription }
        } catch {
            let message = error.description
            if printPrograms { FileHandle.standardError.write(Data("---- error: \(error.kind.rawValue): \(message.prefix(300))\n".utf8)) }
        }
        try? lua.close()
    } catch {
        // A state that cannot be made within the cap is reported by LuaState; nothing to fuzz.
        _ = error.description
    }
    return 0
}
