public import LuaKit

/// The persisted form of an agent's `state` table: the four bytes `LST1`, then the value in
/// ``LuaValueCodec``'s format, with table entries in a stable order so that the same table always
/// gives the same bytes. Functions, userdata, threads and cycles cannot be stored: encoding fails
/// with the path of the value (cycles are caught when the table is copied out of Lua).
public enum StateCodec: Sendable {
    public static let magic: [UInt8] = Array("LST1".utf8)

    public typealias Failure = LuaValueCodec.Failure

    public static func encode(_ value: LuaValue, path: String = "state") throws(Failure) -> [UInt8] {
        var out = magic
        try LuaValueCodec.encode(value, into: &out, path: path)
        return out
    }

    public static func decode(_ bytes: [UInt8]) throws(Failure) -> LuaValue {
        guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
            throw Failure("stored state does not start with LST1: not Loom state, or a newer format")
        }
        var at = 4
        let value = try LuaValueCodec.decode(bytes, at: &at)
        guard at == bytes.count else { throw Failure("stored state has \(bytes.count - at) trailing bytes") }
        return value
    }
}
