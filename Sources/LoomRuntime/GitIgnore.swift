/// The rules of one `.gitignore` file, matched the way git matches them: blank lines and `#`
/// comments skipped, `!` negates, a trailing `/` matches directories only, a pattern with a `/`
/// (other than a trailing one) is anchored to the file's folder, `*` and `?` stay within one path
/// component, `**` spans components, and `[...]` is a character class.
struct GitIgnore: Sendable {
    struct Rule: Sendable {
        var pattern: [UInt8]
        var negated: Bool
        var directoryOnly: Bool
        var anchored: Bool
    }

    var rules: [Rule] = []

    init(text: String) {
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            var line = Substring(raw.hasSuffix("\r") ? raw.dropLast() : raw)
            while line.hasSuffix(" ") && !line.hasSuffix("\\ ") { line = line.dropLast() }
            if line.isEmpty || line.hasPrefix("#") { continue }
            var rule = Rule(pattern: [], negated: false, directoryOnly: false, anchored: false)
            if line.hasPrefix("!") { rule.negated = true; line = line.dropFirst() }
            else if line.hasPrefix("\\") { line = line.dropFirst() }
            if line.hasSuffix("/") { rule.directoryOnly = true; line = line.dropLast() }
            if line.hasPrefix("/") { rule.anchored = true; line = line.dropFirst() }
            if line.contains("/") { rule.anchored = true }
            if line.hasPrefix("**/") { line = line.dropFirst(3); rule.anchored = line.contains("/") }
            guard !line.isEmpty else { continue }
            rule.pattern = Array(line.utf8)
            rules.append(rule)
        }
    }

    /// Whether `path` (relative to the `.gitignore`'s folder, `/`-separated) is ignored: nil when
    /// no rule speaks about it, so an outer file's verdict stands.
    func verdict(_ path: String, isDirectory: Bool) -> Bool? {
        let full = Array(path.utf8)
        let name = full.lastIndex(of: UInt8(ascii: "/")).map { Array(full[($0 + 1)...]) } ?? full
        var result: Bool?
        for rule in rules {
            if rule.directoryOnly && !isDirectory { continue }
            let subject = rule.anchored ? full : name
            if Self.match(rule.pattern[...], subject[...]) { result = !rule.negated }
        }
        return result
    }

    /// Glob matching over bytes: `*` and `?` never cross `/`; `**` between slashes crosses any
    /// number of components.
    static func match(_ p: ArraySlice<UInt8>, _ s: ArraySlice<UInt8>) -> Bool {
        let slash = UInt8(ascii: "/"), star = UInt8(ascii: "*")
        var p = p, s = s
        while let c = p.first {
            switch c {
            case star:
                if p.count >= 2 && p[p.startIndex + 1] == star {
                    // `**/` matches zero or more whole components; a trailing `**` everything.
                    var rest = p.dropFirst(2)
                    if rest.first == slash { rest = rest.dropFirst() }
                    if rest.isEmpty { return true }
                    var t = s
                    while true {
                        if match(rest, t) { return true }
                        guard let i = t.firstIndex(of: slash) else { return false }
                        t = t[(i + 1)...]
                    }
                }
                let rest = p.dropFirst()
                var t = s
                while true {
                    if match(rest, t) { return true }
                    guard let first = t.first, first != slash else { return false }
                    t = t.dropFirst()
                }
            case UInt8(ascii: "?"):
                guard let first = s.first, first != slash else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            case UInt8(ascii: "["):
                guard let first = s.first, first != slash,
                      let (matched, rest) = matchClass(p.dropFirst(), first) else {
                    if s.first == c { p = p.dropFirst(); s = s.dropFirst(); continue }   // a lone `[`
                    return false
                }
                guard matched else { return false }
                p = rest; s = s.dropFirst()
            case UInt8(ascii: "\\") where p.count >= 2:
                guard s.first == p[p.startIndex + 1] else { return false }
                p = p.dropFirst(2); s = s.dropFirst()
            default:
                guard s.first == c else { return false }
                p = p.dropFirst(); s = s.dropFirst()
            }
        }
        return s.isEmpty
    }

    /// `[...]` after its `[`: whether `byte` is in the class, and the pattern after the `]`; nil
    /// when the class is not closed.
    private static func matchClass(_ p: ArraySlice<UInt8>, _ byte: UInt8) -> (Bool, ArraySlice<UInt8>)? {
        var p = p
        var negate = false
        if let f = p.first, f == UInt8(ascii: "!") || f == UInt8(ascii: "^") { negate = true; p = p.dropFirst() }
        var matched = false
        var first = true
        while let c = p.first {
            if c == UInt8(ascii: "]") && !first { return (matched != negate, p.dropFirst()) }
            first = false
            if p.count >= 3 && p[p.startIndex + 1] == UInt8(ascii: "-") && p[p.startIndex + 2] != UInt8(ascii: "]") {
                if byte >= c && byte <= p[p.startIndex + 2] { matched = true }
                p = p.dropFirst(3)
            } else {
                if byte == c { matched = true }
                p = p.dropFirst()
            }
        }
        return nil
    }
}
