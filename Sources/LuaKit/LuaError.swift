/// A failed load or call: what kind of failure, where, and the Lua traceback.
///
/// `description` reads like a compiler diagnostic: `chunk:line: message (kind)` (the kind left out
/// for `runtime`), then the traceback.
///
/// ```swift
/// do { try lua.run("error('boom')", name: "x.lua") } catch {
///     print(error.kind, error.chunk ?? "", error.line ?? 0, error.message)   // runtime x.lua 1 boom
/// }
/// ```
public struct LuaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The source did not compile.
        case syntax
        /// The script raised an error, or a host function refused its arguments.
        case runtime
        /// The VM's memory cap was reached.
        case memory
        /// The entry ran past its deadline.
        case timeout
        /// The entry ran past its instruction budget.
        case budget
        /// A value could not cross between Lua and Swift (a cycle, a function where data was
        /// expected, a type mismatch when reading a result).
        case conversion
        /// The state was closed, or is in use by an outer call that does not allow this, a
        /// ``LuaRef`` was used with another state, a finished coroutine was resumed, or
        /// ``LuaState/loadFile(_:environment:)`` could not read its file.
        case state
    }

    /// What went wrong. It comes from the VM's stop flag and status, never from the message text, so a
    /// script cannot fake a `timeout` or `budget`.
    public var kind: Kind
    /// The message without the `chunk:line:` prefix.
    public var message: String
    /// The chunk the error points at (a file path for files), when known.
    public var chunk: String?
    /// The line in `chunk`, when known.
    public var line: Int?
    /// Lua's stack traceback at the point of the error, when there is one.
    public var traceback: String?

    /// Makes an error; host functions throw one to raise a Lua error with exactly `message`.
    public init(kind: Kind, message: String, chunk: String? = nil, line: Int? = nil, traceback: String? = nil) {
        self.kind = kind
        self.message = message
        self.chunk = chunk
        self.line = line
        self.traceback = traceback
    }

    /// `chunk:line: message (kind)`.
    public var summary: String {
        var s = ""
        if let chunk {
            s += chunk
            if let line { s += ":\(line)" }
            s += ": "
        }
        s += message
        if kind != .runtime { s += " (\(kind.rawValue))" }
        return s
    }

    /// ``summary``, then the traceback on the following lines when there is one.
    public var description: String {
        guard let traceback, !traceback.isEmpty else { return summary }
        return summary + "\n" + traceback
    }

    /// Builds an error from a raw Lua message, splitting off a leading `chunk:line: ` position
    /// when the message has one, else using the position the traceback handler recorded.
    static func fromLua(kind: Kind, rawMessage: String, source: String?, line: Int?, traceback: String?) -> LuaError {
        var message = rawMessage
        var chunk = source
        var errorLine = line
        if let (prefixChunk, prefixLine, rest) = splitPosition(rawMessage) {
            chunk = prefixChunk
            errorLine = prefixLine
            message = rest
        }
        if chunk?.isEmpty == true { chunk = nil }
        let trace = traceback.flatMap { $0.isEmpty ? nil : $0 }
        return LuaError(kind: kind, message: message, chunk: chunk, line: errorLine, traceback: trace)
    }

    /// Splits `chunk:12: rest` into its parts; nil when the message does not start that way.
    static func splitPosition(_ text: String) -> (String, Int, String)? {
        let firstLine = text.prefix { $0 != "\n" }
        var search = firstLine.startIndex
        while let colon = firstLine[search...].firstIndex(of: ":") {
            let afterColon = firstLine.index(after: colon)
            let digits = firstLine[afterColon...].prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, digits.endIndex < firstLine.endIndex, firstLine[digits.endIndex] == ":",
               colon > firstLine.startIndex, let number = Int(digits) {
                let chunk = String(firstLine[..<colon])
                var restStart = firstLine.index(after: digits.endIndex)
                if restStart < text.endIndex, text[restStart] == " " { restStart = text.index(after: restStart) }
                return (chunk, number, String(text[restStart...]))
            }
            search = afterColon
        }
        return nil
    }
}
