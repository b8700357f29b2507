import Foundation
/// Where keys and array elements are in a TOML file, found by scanning its text.
///
/// TOMLKit reports positions for syntax errors only; this map gives the semantic checks a line and a
/// column for the key (or the quoted element) they complain about. It understands table headers,
/// `key = value` lines (bare or quoted keys) and multi-line arrays, which is what manifests use.
struct TOMLSourceMap {
    struct Position: Sendable, Equatable {
        var line: Int
        var column: Int
    }

    private var keys: [String: Position] = [:]
    private var headers: [String: Position] = [:]
    private let lines: [Substring]

    init(text: String) {
        // "\r\n" is one Character in Swift: CRLF files split on it too.
        lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var table = ""
        for (index, raw) in lines.enumerated() {
            let indent = raw.prefix { $0 == " " || $0 == "\t" }.count
            let line = raw.dropFirst(indent)
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("[") {
                let inner = line.drop { $0 == "[" }.prefix { $0 != "]" }
                table = TOMLSourceMap.unquote(String(inner).trimmingSpaces)
                headers[table] = Position(line: index + 1, column: indent + 1)
                continue
            }
            guard let eq = TOMLSourceMap.assignment(in: line) else { continue }
            let key = TOMLSourceMap.unquote(String(line[..<eq]).trimmingSpaces)
            let path = table.isEmpty ? key : table + "." + key
            if keys[path] == nil { keys[path] = Position(line: index + 1, column: indent + 1) }
        }
    }

    /// The position of `key` in `table` ("" for the top level), or of the table header.
    func position(of key: String?, in table: String = "") -> Position? {
        guard let key else { return headers[table] }
        return keys[table.isEmpty ? key : table + "." + key] ?? headers[table]
    }

    /// The position of the quoted `element` in the value of `key`, else of the key.
    func position(ofElement element: String, key: String, in table: String = "") -> Position? {
        guard let start = position(of: key, in: table) else { return nil }
        for lineIndex in (start.line - 1)..<min(lines.count, start.line + 200) {
            let line = lines[lineIndex]
            for quote in ["\"", "'"] {
                if let range = line.range(of: quote + element + quote) {
                    return Position(line: lineIndex + 1, column: line.distance(from: line.startIndex, to: range.lowerBound) + 1)
                }
            }
            if lineIndex > start.line - 1, line.contains("=") { break }
        }
        return start
    }

    /// The first position of `"element"` (or `'element'`) anywhere in the file.
    func position(ofQuoted element: String) -> Position? {
        for (index, line) in lines.enumerated() {
            for quote in ["\"", "'"] {
                if let range = line.range(of: quote + element + quote) {
                    return Position(line: index + 1, column: line.distance(from: line.startIndex, to: range.lowerBound) + 1)
                }
            }
        }
        return nil
    }

    /// The index of the `=` of a `key = value` line, outside quotes.
    static func assignment(in line: Substring) -> Substring.Index? {
        var quote: Character?
        for i in line.indices {
            let c = line[i]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "=" {
                return i
            } else if c == "#" {
                return nil
            }
        }
        return nil
    }

    static func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, f == s.last, f == "\"" || f == "'" { return String(s.dropFirst().dropLast()) }
        return s
    }
}
