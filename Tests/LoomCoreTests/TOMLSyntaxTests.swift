import Foundation
@testable import LoomCore
import Testing

/// The TOML 1.0 syntax check in front of TOMLKit (issue 14): toml++ asserts (aborts) on some
/// invalid documents, so only documents TOMLSyntax accepts may reach it.
@Suite("TOML syntax")
struct TOMLSyntaxTests {
    func error(_ text: String) -> TOMLSyntaxError? { TOMLSyntax.error(in: text) }

    /// The document is refused at `line`:`column` with a message containing `words`.
    func refused(_ text: String, _ line: Int, _ column: Int, _ words: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let e = error(text) else {
            Issue.record("accepted: \(text.debugDescription)", sourceLocation: sourceLocation)
            return
        }
        #expect(e.line == line && e.column == column && e.message.contains(words),
                "\(text.debugDescription): \(e)", sourceLocation: sourceLocation)
    }

    /// The document passes the check and then parses with TOMLKit.
    func accepted(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if let e = error(text) {
            Issue.record("\(text.debugDescription): \(e)", sourceLocation: sourceLocation)
            return
        }
        if case .failure(let e) = ManifestReader.parse(file: "t.toml", text: text) {
            Issue.record("TOMLKit refused \(text.debugDescription): \(e)", sourceLocation: sourceLocation)
        }
    }

    /// The document passes the check (it is syntactically valid) and toml++ refuses it with an error.
    func semanticError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error(text) == nil, "\(text.debugDescription)", sourceLocation: sourceLocation)
        if case .success = ManifestReader.parse(file: "t.toml", text: text) {
            Issue.record("TOMLKit accepted \(text.debugDescription)", sourceLocation: sourceLocation)
        }
    }

    @Test("the fuzzer's reproducers that abort toml++ are refused with a position")
    func reproducers() {
        refused("[é]", 1, 2, "expected a key, found 'é'")
        refused("[[[not toml", 1, 3, "expected a key, found '['")
        refused("parents = [}", 1, 12, "expected a value, found '}'")
        refused("name = \"x\"\n[\u{FFFD}]\n", 2, 2, "expected a key")
        // Through ManifestReader: a diagnostic naming the file, line and column, and no abort.
        guard case .failure(let e) = ManifestReader.parse(file: "skills/x/skill.toml", text: "name = \"x\"\n\n[é]\n") else {
            Issue.record("parsed")
            return
        }
        #expect(e.diagnostics.map(\.location) == ["skills/x/skill.toml:3:2"])
        #expect(e.description.contains("TOML syntax: expected a key, found 'é'"), "\(e)")
    }

    @Test("keys, tables and newlines: invalid documents are refused where the fault is")
    func invalidStructure() {
        refused("= 1", 1, 1, "expected a key")
        refused("a", 1, 2, "expected '=' after the key, found the end of the file")
        refused("a =", 1, 4, "expected a value")
        refused("a = \n", 1, 5, "expected a value, found the end of the line")
        refused("a = 1 b = 2", 1, 7, "expected a newline after a key/value pair, found 'b'")
        refused("a.. b = 1", 1, 3, "expected a key, found '.'")
        refused("a. = 1", 1, 4, "expected a key, found '='")
        refused("é = 1", 1, 1, "expected a key, found 'é'")
        refused("a b = 1", 1, 3, "expected '='")
        refused("\"\"\"k\"\"\" = 1", 1, 1, "multi-line")
        refused("[a", 1, 3, "expected ']' to close the table header, found the end of the file")
        refused("[a]x", 1, 4, "expected a newline after a table header, found 'x'")
        refused("[]", 1, 2, "expected a key, found ']'")
        refused("[[a]", 1, 4, "expected ']]'")
        refused("[[a] ]", 1, 4, "expected ']]'")
        refused("[ [a]]", 1, 3, "expected a key, found '['")
        refused("a = 1\rb = 2", 1, 6, "carriage return")
        refused("# ok\n# bad \u{7}\n", 2, 7, "control character U+0007 in a comment")
        refused("# del \u{7F}", 1, 7, "U+007F")
        refused("\u{C}", 1, 1, "expected a key, found control character U+000C")
        refused("a = 1 # x\n  [t]\n  b = 1\n  c", 4, 4, "expected '='")
    }

    @Test("strings: invalid ones are refused where the fault is")
    func invalidStrings() {
        refused("a = \"abc", 1, 5, "unterminated string")
        refused("a = \"abc\nb = 1", 1, 5, "unterminated string")
        refused("a = 'abc\n", 1, 5, "unterminated literal string")
        refused("a = \"\"\"abc", 1, 5, "unterminated multi-line string")
        refused("a = '''abc''", 1, 5, "unterminated multi-line literal string")
        refused("a = \"\\q\"", 1, 6, "invalid escape")
        refused("a = \"\\x41\"", 1, 6, "invalid escape")
        refused("a = \"\\e\"", 1, 6, "invalid escape")
        refused("a = \"\\u12\"", 1, 6, "Unicode escape")
        refused("a = \"\\uD800\"", 1, 6, "Unicode escape")
        refused("a = \"\\U00110000\"", 1, 6, "Unicode escape")
        refused("a = \"x\u{1}y\"", 1, 7, "control character U+0001 in a string")
        refused("a = 'x\u{7F}'", 1, 7, "U+007F")
        refused("a = \"\"\"x\u{0}\"\"\"", 1, 9, "U+0000")
        refused("a = \"\"\"a\"\"\"\"\"\"", 1, 14, "more than two quotes")
        refused("a = '''a''''''", 1, 14, "more than two quotes")
        refused("a = \"\"\"\n  x \\ y\n\"\"\"", 2, 5, "invalid escape")
        refused("a = \"\"\"\nx\ry\"\"\"", 2, 2, "carriage return")
        refused("a = \"x\" \"y\"", 1, 9, "expected a newline")
    }

    @Test("numbers, booleans, dates and times: invalid ones are refused where the fault is")
    func invalidScalars() {
        refused("a = 01", 1, 5, "leading zeros")
        refused("a = -01.5", 1, 6, "leading zeros")
        refused("a = 1__0", 1, 6, "underscore")
        refused("a = 1_", 1, 6, "underscore")
        refused("a = _1", 1, 5, "'_1' is not a value")
        refused("a = +0x1", 1, 5, "no sign")
        refused("a = 0x", 1, 7, "expected digits")
        refused("a = 0o8", 1, 7, "base-8")
        refused("a = 0b102", 1, 9, "base-2")
        refused("a = 0X1F", 1, 6, "unexpected 'X'")
        refused("a = 9223372036854775808", 1, 5, "64 bits")
        refused("a = 0x8000000000000000", 1, 5, "64 bits")
        refused("a = 1.", 1, 7, "after the decimal point")
        refused("a = .5", 1, 5, "expected a digit")
        refused("a = 1.e5", 1, 7, "after the decimal point")
        refused("a = 1e", 1, 7, "exponent")
        refused("a = 1e_5", 1, 7, "exponent")
        refused("a = 1.5.3", 1, 8, "unexpected '.'")
        refused("a = Inf", 1, 5, "'Inf' is not a value")
        refused("a = inf_", 1, 5, "'inf_' is not a value")
        refused("a = True", 1, 5, "'True' is not a value")
        refused("a = truex", 1, 5, "'truex' is not a value")
        refused("a = yes", 1, 5, "'yes' is not a value")
        refused("a = 2024-13-01", 1, 10, "the month must be 1 to 12")
        refused("a = 2023-02-29", 1, 13, "the day must be 1 to 28")
        refused("a = 2024-04-31", 1, 13, "the day must be 1 to 30")
        refused("a = 2024-1-01", 1, 11, "2 digits for the month")
        refused("a = 2024-01-01T24:00:00", 1, 16, "the hour must be 0 to 23")
        refused("a = 2024-01-01T10:60:00", 1, 19, "the minute")
        refused("a = 2024-01-01T10:00:61", 1, 22, "the second")
        refused("a = 2024-01-01T10:00", 1, 21, "expected ':'")
        refused("a = 10:00", 1, 10, "expected ':'")
        refused("a = 2024-01-01T10:00:00.", 1, 25, "digits after the decimal point")
        refused("a = 2024-01-01T10:00:00+1:00", 1, 26, "2 digits for the offset hour")
        refused("a = 2024-01-01T10:00:00+01", 1, 27, "expected ':'")
        refused("a = 2024-01-01T10:00:00+24:00", 1, 25, "offset hour")
        refused("a = 2024-01-01T10:00:00X", 1, 24, "expected 'Z' or an offset")
        refused("a = 2024-01-01X10:00:00", 1, 15, "expected 'T' or a space")
        refused("a = 12024-01-01", 1, 10, "unexpected '-'")
    }

    @Test("arrays and inline tables: invalid ones are refused where the fault is")
    func invalidCompounds() {
        refused("a = [1,,2]", 1, 8, "expected a value, found ','")
        refused("a = [,]", 1, 6, "expected a value")
        refused("a = [1 2]", 1, 8, "expected ',' or ']'")
        refused("a = [1,\n2", 2, 2, "unterminated array")
        refused("a = [1}", 1, 7, "expected ',' or ']'")
        refused("a = {b = 1,}", 1, 12, "trailing comma")
        refused("a = {b = 1\n}", 1, 11, "newline in an inline table")
        refused("a = {\nb = 1}", 1, 6, "newline in an inline table")
        refused("a = {b = 1 c = 2}", 1, 12, "expected ',' or '}'")
        refused("a = {b = 1", 1, 11, "unterminated inline table")
        refused("a = {,}", 1, 6, "expected a key")
        refused("a = {b}", 1, 7, "expected '='")
        refused("a = [{b = 1]", 1, 12, "expected ',' or '}'")
    }

    @Test("NUL is refused by the grammar; a file that is not UTF-8 never reaches it")
    func encoding() throws {
        refused("a = 1\u{0}", 1, 6, "found control character U+0000")
        refused("# x\u{0}", 1, 4, "control character U+0000 in a comment")
        refused("a = 'x\u{0}'", 1, 7, "control character U+0000 in a string")
        #expect(error("s = \"\\u0000\"") == nil)   // valid TOML; ManifestText refuses it for TOMLKit's sake

        // From disk: ManifestText refuses the bytes (a lossy decode would make `[\u{FFFD}]`), and a
        // valid file with a non-ASCII header gets the syntax error, both with their position.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loom-toml-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (bytes, location, words) in [(Array("name = \"x\"\n[".utf8) + [0xff] + Array("]\n".utf8), "2:2", "UTF-8"),
                                         (Array("name = \"x\"\n[é]\n".utf8), "2:2", "TOML syntax: expected a key, found 'é'")] {
            _ = FileManager.default.createFile(atPath: dir + "/skill.toml", contents: Data(bytes))
            do {
                _ = try SkillManifest.load(directory: dir)
                Issue.record("loaded")
            } catch {
                #expect(error.diagnostics.map(\.location) == [dir + "/skill.toml:" + location])
                #expect(error.description.contains(words), "\(error)")
            }
        }
    }

    @Test("limits: nesting deeper than 100 levels and documents over 16 MiB are refused")
    func limits() {
        accepted("a = " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
        refused("a = " + String(repeating: "[", count: 101), 1, 105, "more than 100 levels")
        refused("a = " + String(repeating: "{b = ", count: 101), 1, 5 + 5 * 100, "more than 100 levels")
        // Header parts, dotted key parts, arrays and inline tables count together.
        let parts = (1...60).map { "k\($0)" }.joined(separator: ".")
        accepted("[\(parts)]\n" + (1...40).map { "j\($0)" }.joined(separator: ".") + " = 1")
        #expect(error("[\(parts)]\n" + (1...41).map { "j\($0)" }.joined(separator: ".") + " = [1]")?.kind == .tooDeep(limit: 100))
        // A dotted key of 101 parts names 100 nested tables.
        accepted((1...101).map { "k\($0)" }.joined(separator: ".") + " = 1")
        #expect(error((1...102).map { "k\($0)" }.joined(separator: ".") + " = 1")?.kind == .tooDeep(limit: 100))
        #expect(error("a = { b = { c.d = [[{e = 1}]] } }") == nil)
        // Depth is per line: a deep table header does not add to the next header.
        accepted("[\(parts)]\n[\(parts).x]\na = 1\n[b]\nc = [[[]]]")

        let line = "# padding the document past the limit\n"
        let big = String(repeating: line, count: (16 << 20) / line.utf8.count + 1)
        #expect(error(big)?.kind == .tooLarge(bytes: big.utf8.count, limit: 16 << 20))
        #expect(error(String(decoding: big.utf8.prefix(16 << 20), as: UTF8.self)) == nil)
    }

    @Test("valid documents of every construct pass and parse with TOMLKit")
    func validConstructs() {
        let documents = [
            "",
            "\n\n  \t\n",
            "# only a comment",
            "\u{FEFF}a = 1",
            "a = 1\r\nb = 2\r\n",
            "# comment with tab\t, é and 🧵\na = 1 # trailing\n",
            // Keys
            "bare_key-1 = 1\n1234 = 2\n-_- = 3",
            "\"quoted key\" = 1\n\"ʎǝʞ\" = 2\n'literal \"key\"' = 3\n\"\" = 4",
            "a.b.c = 1\na . \"d\" .\t'e' = 2\n3.14159 = 'pi'",
            "\"a.b\" = 1\nsite.\"google.com\" = true",
            "fruit.apple.color = 'red'\nfruit.apple.taste.sweet = true\nfruit.orange = 2",
            // Tables
            "[table]\nkey = 1\n[ j . \"ʞ\" . 'l' ]\n[dog.\"tater.man\"]\ntype.name = \"pug\"",
            "[a.b.c]\n[a]\nx = 1\n[d.e.f]  # comment\n  [ g .  h  . i ]\n",
            "[[products]]\nname = \"Hammer\"\n[[products]]\n\n[[products]]\nname = \"Nail\"",
            "[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\nname = \"red delicious\"\n[[fruits]]\nname = \"banana\"",
            "[[ a . b ]]\nx = 1",
            // Basic strings and escapes
            "s = \"I'm a string. \\\"You can quote me\\\". Name\\tJos\\u00E9\\nLocation\\tSF.\"",
            "s = \"\\b\\t\\n\\f\\r\\\"\\\\\\u0001\\u007F\\uFFFF\\U0001F9F5\\U0010FFFF\"",
            "s = \"tab\there\"\nt = \"é 🧵 ʎ\"\nu = \"\"",
            // Multi-line basic strings
            "s = \"\"\"\nRoses are red\nViolets are blue\"\"\"",
            "s = \"\"\"\nThe quick brown \\\n\n\n  fox jumps over \\\n    the lazy dog.\"\"\"",
            "s = \"\"\"\\\n       The quick brown \\  \t\n       fox.\\\n       \"\"\"",
            "s = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"",
            "s = \"\"\"Here are fifteen quotation marks: \"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\"\"\"\\\".\"\"\"",
            "s = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"",
            "s = \"\"\"a\"\"\"\"\"\nt = \"\"\"\"\"\"\nu = \"\"\"\r\nwindows\r\n\"\"\"",
            // Literal strings
            "p = 'C:\\Users\\nodejs\\templates'\nq = '\\\\ServerX\\admin$\\system32\\'\nr = 'Tom \"Dubs\" Preston-Werner'\ns = '<\\i\\c*\\s*>'\nt = ''",
            "r = '''I [dw]on't need \\d{2} apples'''\nl = '''\nThe first newline is\ntrimmed in raw strings.\n   All other whitespace\n   is preserved.\n'''",
            "q = '''Here are fifteen quotation marks: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"'''\na = ''''That,' she said, 'is still pointless.''''\nb = '''''''",
            // Integers
            "a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\ng = 53_49_221\nh = 1_2_3_4_5\ni = -0\nj = +0",
            "a = 0xDEADBEEF\nb = 0xdeadbeef\nc = 0xdead_beef\nd = 0o01234567\ne = 0o755\nf = 0b11010110\ng = 0x0\nh = 0b0_1",
            "max = 9223372036854775807\nmin = -9223372036854775808\nhex = 0x7FFFFFFFFFFFFFFF",
            // Floats
            "a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\nh = 224_617.445_991_228\ni = 0.0\nj = -0.0\nk = 0e0\nl = 1_0.0_1e1_0",
            "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan",
            // Booleans
            "a = true\nb = false",
            // Dates and times
            "odt1 = 1979-05-27T07:32:00Z\nodt2 = 1979-05-27T00:32:00-07:00\nodt3 = 1979-05-27T00:32:00.999999-07:00\nodt4 = 1979-05-27 07:32:00Z",
            "ldt1 = 1979-05-27T07:32:00\nldt2 = 1979-05-27T00:32:00.999999\nld1 = 1979-05-27\nlt1 = 07:32:00\nlt2 = 00:32:00.999999",
            "lower = 1987-07-05t17:45:00z\nleap = 2000-02-29\nleap2 = 2024-02-29T23:59:59+23:59\nend = 1999-12-31 23:59:59.1",
            "d = 1979-05-27 # a date, then a comment\ne = [1979-05-27 07:32:00, 1979-05-27]",
            // Arrays
            "integers = [ 1, 2, 3 ]\ncolors = [ \"red\", \"yellow\", \"green\" ]\nnested_arrays_of_ints = [ [ 1, 2 ], [3, 4, 5] ]\nnested_mixed_array = [ [ 1, 2 ], [\"a\", \"b\", \"c\"] ]\nstring_array = [ \"all\", 'strings', \"\"\"are the same\"\"\", '''type''' ]",
            "numbers = [ 0.1, 0.2, 0.5, 1, 2, 5 ]\ncontributors = [\n  \"Foo Bar <foo@example.com>\",\n  { name = \"Baz Qux\", email = \"bazqux@example.com\", url = \"https://example.com/bazqux\" }\n]",
            "a = []\nb = [\n]\nc = [ # comment\n  1, # one\n  # alone\n  2,\n]\nd = [1,]\ne = [\r\n1\r\n]\nf = [[],[[]]]",
            // Inline tables
            "name = { first = \"Tom\", last = \"Preston-Werner\" }\npoint = { x = 1, y = 2 }\nanimal = { type.name = \"pug\" }",
            "a = {}\nb = { }\nc = {d = {e = {f = 1}}}\ng = { h = [ 1,\n 2 ] , i = \"\"\"x\ny\"\"\" }",
            "[product]\ntype = { name = \"Nail\" }\n[[points]]\nx = { a = [ { b = 1 } ] }",
        ]
        for d in documents { accepted(d) }
    }

    @Test("semantic errors pass the syntax check and toml++ reports them without asserting")
    func semanticErrors() {
        semanticError("a = 1\na = 2")
        semanticError("a = 1\n\"a\" = 2")
        semanticError("a = 1\n'a' = 2")
        semanticError("[t]\n[t]")
        semanticError("[t]\na = 1\n[t]\nb = 2")
        semanticError("a.b = 1\na = 2")
        semanticError("a = 1\na.b = 2")
        semanticError("[[t]]\n[t]")
        semanticError("[t]\n[[t]]")
        semanticError("a = []\n[[a]]")
        semanticError("a = [{}]\n[[a]]")
        semanticError("a = {b = 1}\na.c = 2")
        semanticError("a = {b = 1}\n[a]\nc = 2")
        semanticError("a = {b = 1}\n[a.c]")
        semanticError("a = {b = 1, b = 2}")
        semanticError("a = {b.c = 1, b = 2}")
        semanticError("a = {b = {c = 1}, b.d = 2}")
        semanticError("[a.b]\n[a]\nb = 1")
        semanticError("[a]\nb.c = 1\n[a.b]\nd = 2")
        semanticError("[fruit]\napple.color = 'red'\n[fruit.apple]")
        semanticError("[[fruits]]\nname = 'apple'\n[fruits.physical]\n[[fruits.physical]]")
        semanticError("[fruit.physical]\n[[fruit]]")
        semanticError("a = 1\n[a]")
        semanticError("a = 1\n[a.b]")
        semanticError("a = 1\n[[a.b]]")
        semanticError("a = true\n[[a]]")
        semanticError("[a]\nb = 1\n[a.b.c]")
        semanticError("a.b.c = 1\na.b = 2")
        semanticError("x.y = 1\n[x.y]")
        semanticError("[tbl]\n[tbl.x]\n[tbl.x.y]\n[tbl]")
        semanticError("a = \"\"\"\nx\"\"\"\na = 1")
    }

    @Test("every TOML file in the repository passes the check and parses")
    func repositoryFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let skip: Set<String> = [".build", ".git", ".swiftpm"]
        var count = 0
        let files = FileManager.default.enumerator(atPath: root)
        while let relative = files?.nextObject() as? String {
            if skip.contains(relative.split(separator: "/").first.map(String.init) ?? "") { continue }
            guard relative.hasSuffix(".toml") || relative.hasSuffix("loom.lock") else { continue }
            accepted(try ManifestText.read(root + "/" + relative, what: relative))
            count += 1
        }
        #expect(count >= 30)
    }
}
