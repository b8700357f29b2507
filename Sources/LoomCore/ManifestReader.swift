import Foundation
import Glibc
import TOMLKit

/// Reads typed fields from a parsed TOML table and collects every problem as a diagnostic with a
/// position, so that a file reports all its problems at once.
struct ManifestReader {
    let file: String
    let map: TOMLSourceMap
    var diagnostics: [Diagnostic] = []

    init(file: String, text: String) {
        self.file = file
        self.map = TOMLSourceMap(text: text)
    }

    /// Parses the text; a NUL (which TOMLKit's C strings would cut at) and a syntax error become
    /// diagnostics at their position. Only text that TOMLSyntax accepts reaches toml++, which
    /// asserts on some invalid documents.
    static func parse(file: String, text: String) -> Result<TOMLTable, ManifestError> {
        if let d = ManifestText.check(text, file: file) { return .failure(ManifestError([d])) }
        guard text.utf8.count <= ManifestText.maxBytes else {
            return .failure(ManifestError([Diagnostic(file: file, message: "more than the \(ManifestText.maxBytes) bytes a manifest may have",
                                                      kind: .tooLarge)]))
        }
        do {
            if let error = TOMLSyntax.error(in: text) { return .failure(ManifestError([error.diagnostic(file: file)])) }
            return .success(try TOMLTable(string: text))
        } catch let error as TOMLParseError {
            return .failure(ManifestError([Diagnostic(file: file, line: error.source.begin.line, column: error.source.begin.column,
                                                      message: "TOML syntax: \(error.description)",
                                                      hint: "fix the syntax; see docs/formats.md for the format", kind: .syntax)]))
        } catch {
            return .failure(ManifestError([Diagnostic(file: file, message: "cannot parse TOML: \(error)", kind: .syntax)]))
        }
    }

    /// The parsed table, or the syntax error as a ManifestError.
    static func table(file: String, text: String) throws(ManifestError) -> TOMLTable {
        switch parse(file: file, text: text) {
        case .success(let t): return t
        case .failure(let e): throw e
        }
    }

    /// Reads the manifest `name` in `directory`: its path and text, or a diagnostic saying what is
    /// wrong (missing, a folder, unreadable, too large, not UTF-8) and what to do.
    static func read(_ name: String, in directory: String, what: String, hint: String) throws(ManifestError) -> (file: String, text: String) {
        let file = Paths.join(directory, name)
        return (file, try ManifestText.read(file, what: "the \(what) manifest", hint: hint))
    }

    /// Whether `path`, relative to `directory`, exists.
    static func exists(_ path: String, in directory: String) -> Bool {
        FileManager.default.fileExists(atPath: Paths.join(directory, path))
    }

    /// What is at a file path a manifest names (a skill's entry, an agent's behaviour).
    enum EntryFile: Equatable {
        case file, missing, folder
        /// A symbolic link (or a path through one) that ends outside the folder: where it ends.
        case outside(String)
    }

    /// What is at `path` (already known to stay lexically inside `directory`), following links:
    /// the real path must stay inside the real folder, or the lock's hash would not cover the file.
    static func entry(_ path: String, in directory: String) -> EntryFile {
        let full = Paths.join(directory, path)
        var info = stat()
        guard stat(full, &info) == 0 else { return .missing }
        if info.st_mode & S_IFMT == S_IFDIR { return .folder }
        guard let real = realPath(full), let base = realPath(directory) else { return .missing }
        return real.hasPrefix(base == "/" ? "/" : base + "/") ? .file : .outside(real)
    }

    static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// The file path at `key` (default `fallback`), relative to the manifest's folder: it must stay
    /// inside the folder (no absolute path, no `..` out of it, no link out of it) and be a file.
    mutating func entryPath(_ table: TOMLTable, _ key: String, default fallback: String, folder: String,
                            check: (String) -> EntryFile) -> String {
        let path = string(table, key) ?? fallback
        let at: String? = table[key] == nil ? nil : key
        let shown = Diagnostic.shown(path)
        guard let inside = Paths.contained(path), !inside.isEmpty, inside != "." else {
            let why = Paths.isAbsolute(path) ? "is an absolute path" : path.isEmpty ? "is empty" : "leaves the \(folder)'s folder"
            diagnostics.append(Diagnostic(file: file, line: map.position(of: at)?.line ?? 1, column: map.position(of: at)?.column ?? 1,
                                          message: "\(key) '\(shown)' \(why); it must name a file inside the \(folder)'s folder",
                                          hint: "write a path relative to the folder, e.g. \(key) = \"\(fallback)\"", kind: .outsideFolder))
            return path
        }
        switch check(path) {
        case .file: break
        case .missing:
            report("\(key) file '\(shown)' does not exist", key: at,
                   hint: "create \(shown) next to \(Paths.name(file)), or set \(key) = \"...\"")
        case .folder:
            diagnostics.append(Diagnostic(file: file, line: map.position(of: at)?.line ?? 1, column: map.position(of: at)?.column ?? 1,
                                          message: "\(key) '\(shown)' is a folder, not a file", hint: "name the Lua file", kind: .notAFile))
        case .outside(let real):
            diagnostics.append(Diagnostic(file: file, line: map.position(of: at)?.line ?? 1, column: map.position(of: at)?.column ?? 1,
                                          message: "\(key) '\(shown)' leads through a symbolic link to \(real), outside the \(folder)'s folder; "
                                            + "the lock's hash would not cover it",
                                          hint: "copy the file into the folder instead of linking to it", kind: .outsideFolder))
        }
        return path
    }

    mutating func report(_ message: String, key: String? = nil, element: String? = nil, table: String = "", hint: String? = nil,
                         kind: Diagnostic.Kind = .invalid) {
        let position = element.flatMap { e in key.flatMap { map.position(ofElement: e, key: $0, in: table) } }
            ?? map.position(of: key, in: table)
        // A problem of the whole file (a missing key) points at its first line.
        diagnostics.append(Diagnostic(file: file, line: position?.line ?? 1, column: position?.column ?? 1, message: message, hint: hint,
                                      kind: kind))
    }

    static func typeName(_ value: any TOMLValueConvertible) -> String {
        switch value.type {
        case .table: "table"
        case .array: "array"
        case .string: "string"
        case .int: "integer"
        case .double: "float"
        case .bool: "boolean"
        case .date, .time, .dateTime: "date"
        }
    }

    /// Unknown keys get "did you mean ...?".
    mutating func checkKeys(_ table: TOMLTable, allowed: [String], table path: String = "", what: String) {
        for key in table.keys where !allowed.contains(key) {
            let hint = Suggest.closest(to: key, in: allowed).map { "did you mean '\($0)'?" }
                ?? "known keys of \(what): \(allowed.joined(separator: ", "))"
            report("unknown key '\(Diagnostic.shown(key))' in \(what)", key: key, table: path, hint: hint)
        }
    }

    mutating func string(_ table: TOMLTable, _ key: String, table path: String = "", required: Bool = false) -> String? {
        guard let value = table[key] else {
            if required { report("missing required key '\(key)'", table: path, hint: "add \(key) = \"...\"") }
            return nil
        }
        guard let s = value.string else {
            report("'\(key)' must be a string, found \(Self.typeName(value))", key: key, table: path)
            return nil
        }
        return s
    }

    /// An integer; outside `range` (when given) it is a diagnostic of kind `outOfRange`.
    mutating func integer(_ table: TOMLTable, _ key: String, table path: String = "", in range: ClosedRange<Int>? = nil) -> Int? {
        guard let value = table[key] else { return nil }
        guard let i = value.int else {
            report("'\(key)' must be an integer, found \(Self.typeName(value))", key: key, table: path)
            return nil
        }
        if let range, !range.contains(i) {
            let bounds = range.lowerBound == 1 && range.upperBound == Int.max ? "must be positive"
                : range.lowerBound == 1 ? "must be between 1 and \(range.upperBound)"
                : "must be between \(range.lowerBound) and \(range.upperBound)"
            report("'\(key)' is \(i); it \(bounds)", key: key, table: path, kind: .outOfRange)
            return nil
        }
        return i
    }

    mutating func strings(_ table: TOMLTable, _ key: String, table path: String = "") -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else {
            report("'\(key)' must be an array of strings, found \(Self.typeName(value))", key: key, table: path,
                   hint: "write \(key) = [\"...\"]")
            return nil
        }
        var out: [String] = []
        for element in array {
            if let s = element.string { out.append(s) } else {
                report("'\(key)' must hold strings only, found \(Self.typeName(element))", key: key, table: path)
            }
        }
        return out
    }

    mutating func subtable(_ table: TOMLTable, _ key: String) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let t = value.table else {
            report("'\(key)' must be a table, found \(Self.typeName(value))", key: key, hint: "write it as a [\(key)] section")
            return nil
        }
        return t
    }

    // MARK: Domain values

    mutating func version(_ table: TOMLTable, _ key: String, required: Bool) -> SemanticVersion? {
        guard let text = string(table, key, required: required) else { return nil }
        guard let v = SemanticVersion(text) else {
            report(VersionError.badVersion(text).description, key: key, hint: "use MAJOR.MINOR.PATCH, e.g. \"1.0.0\"")
            return nil
        }
        return v
    }

    mutating func capabilities(_ table: TOMLTable, _ key: String, allowRange: Bool) -> [CapabilityRef] {
        var out: [CapabilityRef] = []
        for text in strings(table, key) ?? [] {
            do {
                let ref = try CapabilityRef(text)
                if !allowRange && !ref.range.comparators.isEmpty {
                    report("'\(key)' names a capability without a range: \"\(ref.key)\"", key: key, element: text,
                           hint: "a skill provides name@MAJOR at its own version")
                }
                out.append(ref)
            } catch {
                report(error.description, key: key, element: text)
            }
        }
        return out
    }

    mutating func permissions(_ table: TOMLTable, _ key: String, table path: String = "") -> [Permission]? {
        guard let texts = strings(table, key, table: path) else { return nil }
        var out: [Permission] = []
        for text in texts {
            if let p = Permission(rawValue: text) { out.append(p) } else {
                let known = Permission.allCases.map(\.rawValue)
                let hint = Suggest.closest(to: text, in: known).map { "did you mean '\($0)'?" }
                    ?? "known permissions: \(known.joined(separator: ", "))"
                report("unknown permission '\(text)'", key: key, element: text, table: path, hint: hint)
            }
        }
        return out
    }

    mutating func name(_ table: TOMLTable, dotted: Bool, what: String) -> String? {
        guard let name = string(table, "name", required: true) else { return nil }
        let ok = dotted ? Names.isDotted(name) : Names.isSimple(name)
        if !ok {
            report("'\(Diagnostic.shown(name))' is not a valid \(what) name", key: "name",
                   hint: dotted ? "lowercase words of letters, digits and hyphens separated by dots, e.g. audit.secrets"
                                : "a lowercase word of letters, digits and hyphens, e.g. security-auditor")
            return nil
        }
        return name
    }
}
