import Foundation
import Glibc

/// The text of a TOML file Loom reads (node.toml, skill.toml, agent.toml, loom.lock), checked
/// before TOMLKit sees it: TOMLKit hands strings and keys over as C strings, so a NUL would cut a
/// name short, and invalid UTF-8 would be replaced without a word. Every problem is a diagnostic
/// with the file, line and column.
public enum ManifestText: Sendable {
    /// The largest manifest read: far beyond any real one, small enough to parse at once.
    public static let maxBytes = 4 << 20

    /// Reads `file`. A missing file, a folder or other non-file, an unreadable or oversized file,
    /// and text that is not UTF-8 are diagnostics naming the file; `what` names it ("the node
    /// manifest"), `hint` is given when it is missing.
    public static func read(_ file: String, what: String, hint: String? = nil) throws(ManifestError) -> String {
        try decode(readBytes(file, what: what, hint: hint, limit: maxBytes), file: file)
    }

    /// The bytes of `file`, or a diagnostic naming the file and the problem: it does not exist (with
    /// `hint`), it is a folder or another non-file, it cannot be read, or it has more than `limit`
    /// bytes. `what` names it in the message ("the node manifest").
    public static func readBytes(_ file: String, what: String, hint: String? = nil, limit: Int) throws(ManifestError) -> [UInt8] {
        func fail(_ kind: Diagnostic.Kind, _ message: String, _ hint: String? = nil) -> ManifestError {
            ManifestError([Diagnostic(file: file, message: message, hint: hint, kind: kind)])
        }
        var info = stat()
        guard stat(file, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw fail(.missing, "\(what) does not exist", hint) }
            throw fail(.unreadable, "cannot read \(what): \(String(cString: strerror(code)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw fail(.notAFile, "\(what) is a folder, not a file", "remove or rename the folder \(file)")
        default: throw fail(.notAFile, "\(what) is not a regular file")
        }
        guard info.st_size <= limit else {
            throw fail(.tooLarge, "\(what) is \(info.st_size) bytes, more than the \(limit) it may have")
        }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail(.unreadable, "cannot read \(what): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail(.unreadable, "cannot read \(what): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += buffer[..<n]
            guard bytes.count <= limit else { throw fail(.tooLarge, "\(what) has more than the \(limit) bytes it may have") }
        }
        return bytes
    }

    /// The bytes as text: a leading byte-order mark is dropped; bytes that are not UTF-8, and NUL,
    /// are refused with their line and column.
    public static func decode(_ bytes: some Collection<UInt8>, file: String) throws(ManifestError) -> String {
        var bytes = Array(bytes)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        parsing: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar):
                offset += scalar.count
            case .emptyInput:
                break parsing
            case .error(let length):
                let (line, column) = position(ofByte: offset, in: bytes)
                let shown = bytes[offset..<min(bytes.count, offset + length)].map { String(format: "0x%02X", $0) }.joined(separator: " ")
                throw ManifestError([Diagnostic(file: file, line: line, column: column,
                                                message: "not valid UTF-8 (byte \(shown)); a manifest must be UTF-8 text",
                                                hint: "save the file as UTF-8", kind: .encoding)])
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let d = check(text, file: file) { throw ManifestError([d]) }
        return text
    }

    /// A NUL in the text, or written as `\u0000` or `\U00000000` in a basic string: TOMLKit would
    /// cut the string (or the whole text) there.
    static func check(_ text: String, file: String) -> Diagnostic? {
        let bytes = Array(text.utf8)
        if let at = bytes.firstIndex(of: 0) {
            let (line, column) = position(ofByte: at, in: bytes)
            return Diagnostic(file: file, line: line, column: column, message: "holds a NUL byte; a manifest must be text",
                              hint: "remove the NUL byte", kind: .encoding)
        }
        switch scan(bytes) {
        case nil: return nil
        case .nulEscape(let at):
            let (line, column) = position(ofByte: at, in: bytes)
            return Diagnostic(file: file, line: line, column: column,
                              message: "a string holds the NUL character (\\u0000), which Loom does not accept",
                              hint: "remove the \\u0000 escape", kind: .encoding)
        case .deepKey(let at):
            let (line, column) = position(ofByte: at, in: bytes)
            return Diagnostic(file: file, line: line, column: column,
                              message: "a key or table header nests more than \(maxKeyDepth) levels on one line",
                              hint: "no manifest nests that deep; shorten the dotted key", kind: .tooLarge)
        }
    }

    /// The most dots in the keys and table headers of one line: TOML's parser builds (and frees)
    /// nested tables recursively, so tens of thousands of levels would overflow the stack.
    static let maxKeyDepth = 128

    enum Problem: Equatable {
        /// A `\u0000` or `\U00000000` escape in a basic string, at this offset.
        case nulEscape(Int)
        /// A dot past `maxKeyDepth` in the keys of one line, at this offset.
        case deepKey(Int)
    }

    /// A lexical pass over TOML: strings (basic, literal, multi-line) and comments are skipped as
    /// TOML reads them; in basic strings a NUL escape is a problem; outside strings, the dots of
    /// keys and headers (not of values such as 1.5) are counted per line.
    static func scan(_ b: [UInt8]) -> Problem? {
        let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), backslash = UInt8(ascii: "\\")
        let hash = UInt8(ascii: "#"), newline = UInt8(ascii: "\n")
        func run(of c: UInt8, at i: Int) -> Int {
            var j = i
            while j < b.count && b[j] == c { j += 1 }
            return j - i
        }
        var containers: [UInt8] = []   // "[" for arrays, "{" for inline tables
        var expectKey = true, header = false
        var keyDots = 0
        var i = 0
        while i < b.count {
            let c = b[i]
            switch c {
            case hash:
                while i < b.count && b[i] != newline { i += 1 }
                continue
            case newline:
                if containers.isEmpty { expectKey = true }
                header = false
                keyDots = 0
            case UInt8(ascii: "["):
                if expectKey && containers.isEmpty && !header { header = true } else if !header { containers.append(c) }
                expectKey = header
            case UInt8(ascii: "]"):
                if header { header = false } else if containers.last == UInt8(ascii: "[") { containers.removeLast() }
            case UInt8(ascii: "{"):
                containers.append(c)
                expectKey = true
            case UInt8(ascii: "}"):
                if containers.last == UInt8(ascii: "{") { containers.removeLast() }
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = containers.last == UInt8(ascii: "{")
            case UInt8(ascii: "="):
                expectKey = false
            case UInt8(ascii: "."):
                if header || expectKey {
                    keyDots += 1
                    if keyDots > maxKeyDepth { return .deepKey(i) }
                }
            case quote, apostrophe:
                let multi = run(of: c, at: i) >= 3
                i += multi ? 3 : 1
                while i < b.count {
                    let d = b[i]
                    if d == backslash && c == quote {
                        let kind = i + 1 < b.count ? b[i + 1] : 0
                        let digits = kind == UInt8(ascii: "u") ? 4 : kind == UInt8(ascii: "U") ? 8 : 0
                        if digits > 0, i + 2 + digits <= b.count, b[(i + 2)..<(i + 2 + digits)].allSatisfy({ $0 == UInt8(ascii: "0") }) {
                            return .nulEscape(i)
                        }
                        i += 2
                        continue
                    }
                    if d == c {
                        if !multi { i += 1; break }
                        let n = run(of: c, at: i)
                        i += n
                        if n >= 3 { break }   // up to two quotes of the content may precede the closing three
                        continue
                    }
                    if d == newline && !multi { break }
                    i += 1
                }
                continue
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// The 1-based line and column (in Unicode scalars) of byte `offset`.
    static func position(ofByte offset: Int, in bytes: [UInt8]) -> (line: Int, column: Int) {
        var line = 1, lineStart = 0
        for i in 0..<min(offset, bytes.count) where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        let column = bytes[lineStart..<min(offset, bytes.count)].filter { $0 & 0xC0 != 0x80 }.count + 1
        return (line, column)
    }
}
