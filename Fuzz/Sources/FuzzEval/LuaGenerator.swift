// A structure-aware generator of Lua programs: the fuzz input is a stream of choices in a small
// grammar of statements and expressions that leans on the corners where a sandbox breaks: deep
// nesting, long `or`/`and` chains, coroutines and `<close>` variables, xpcall handlers that loop or
// fail, string.rep, pairs/next and the environment's iterator on odd arguments, metatables with
// __index/__newindex/__len/__tostring/__call/__close/__eq/__lt/__concat, load of generated text,
// tables that share subtables, Loom's own patterns and table functions, huge and odd numbers.

/// The fuzz bytes as a stream of choices; past the end every choice is 0.
struct Choices {
    private let bytes: [UInt8]
    private var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isExhausted: Bool { at >= bytes.count }

    mutating func byte() -> UInt8 {
        guard at < bytes.count else { return 0 }
        defer { at += 1 }
        return bytes[at]
    }

    /// A choice in 0..<n.
    mutating func pick(_ n: Int) -> Int { n <= 1 ? 0 : Int(byte()) % n }

    mutating func pick<T>(_ options: [T]) -> T { options[pick(options.count)] }

    /// A count, small most of the time, now and then large (up to `max`).
    mutating func count(_ max: Int) -> Int {
        let b = byte()
        switch b >> 6 {
        case 0, 1: return Int(b & 0x0f) % (max + 1)
        case 2: return Int(b & 0x3f) * 4 % (max + 1)
        default: return (Int(b & 0x3f) << 8 | Int(byte())) % (max + 1)
        }
    }
}

struct LuaGenerator {
    var c: Choices
    /// Statements left to emit; keeps programs bounded whatever the input.
    var budget = 120
    var depth = 0
    var out = ""
    var freshNames = 0

    static let variables = ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"]

    /// LOOM_FUZZ_AVOID_KNOWN=1 leaves out the productions aimed at bugs already reported (issue 14:
    /// xpcall handler loops, the environment's iterator by hand, string.rep of huge counts, nested
    /// coroutine `<close>` chains, long `or`/`and` chains, shared subtables), so that a run
    /// spends its time on what is not known yet.
    nonisolated(unsafe) static var avoidKnown = false

    /// The environment, where its iterator may be called by hand (a plain table when avoiding it).
    static var env: String { avoidKnown ? "{_ENV}" : "_ENV" }

    init(_ bytes: [UInt8]) { c = Choices(bytes) }

    static func program(_ bytes: [UInt8]) -> String {
        var g = LuaGenerator(bytes)
        g.out = """
            local v1, v2, v3, v4, v5, v6, v7, v8 = nil, 0, "x", {1, 2, 3, a = {}}, function(...) return ... end, \
            coroutine.create(function(...) return ... end), setmetatable({}, {}), 0.5
            local R = {}

            """
        while !g.c.isExhausted && g.budget > 0 {
            g.statement()
        }
        // What `loom eval` prints: the returned values, copied out of Lua.
        switch g.c.pick(4) {
        case 0: g.out += "return v1, v2, v3, v4, v5, v6, v7, v8\n"
        case 1: g.out += "return R\n"
        case 2: g.out += "return \(g.expression())\n"
        default: g.out += "return\n"
        }
        return g.out
    }

    mutating func fresh() -> String {
        freshNames += 1
        return "f\(freshNames)"
    }

    mutating func variable() -> String { c.pick(Self.variables) }

    mutating func block(_ n: Int) {
        guard depth < 12 else { return }
        depth += 1
        for _ in 0..<max(1, n) where budget > 0 { statement() }
        depth -= 1
    }

    // MARK: Statements

    mutating func statement() {
        budget -= 1
        // Half the statements run under pcall, so that an error does not end the program there.
        let wrapped = c.pick(2) == 0
        if wrapped { out += "pcall(function()\n" }
        var kind = c.pick(28)
        if Self.avoidKnown && [9, 10, 11, 14, 15].contains(kind) { kind = 0 }
        switch kind {
        case 0, 1: out += "\(variable()) = \(expression())\n"
        case 2: out += "R[#R + 1] = \(expression())\n"
        case 3: out += "local _ = \(call())\n"
        case 4:
            out += "for i = \(c.pick(["1", "0", "-1", "math.maxinteger - 2", "math.mininteger"])), \(c.count(300)) do\n"
            block(c.pick(3))
            out += "end\n"
        case 5:
            let n = fresh()
            out += "local \(n) = 0\nwhile \(n) < \(c.count(200)) do \(n) = \(n) + 1\n"
            block(c.pick(3))
            out += "end\n"
        case 6:
            out += "if \(expression()) then\n"
            block(c.pick(3))
            out += "else\n"
            block(c.pick(2))
            out += "end\n"
        case 7: out += "setmetatable(\(c.pick(["v4", "v7", "R", "v1"])), \(metatable()))\n"
        case 8: coroutineStatement()
        case 9: closeChain()
        case 10: xpcallStatement()
        case 11: out += "\(variable()) = \(chain())\n"
        case 12: out += "\(variable()) = \(nesting())\n"
        case 13: loadStatement()
        case 14: sharedTables()
        case 15: out += "\(variable()) = string.rep(\(stringExpression()), \(bigNumber()), \(stringExpression()))\n"
        case 16: iterate()
        case 17: tableFunction()
        case 18: patternCall()
        case 19: out += "local _ = string.format(\(formatString()), \(expression()), \(expression()), \(expression()))\n"
        case 20: out += "local _ = string.pack(\(packFormat()), \(expression()), \(expression()))\n"
        case 21: out += "local _ = string.unpack(\(packFormat()), \(stringExpression()), \(c.pick(["1", "-1", "2", "100"])))\n"
        case 22: out += "local _ = utf8.\(c.pick(["char", "codepoint", "len", "offset"]))(\(expression()), \(number()), \(number()))\n"
        case 23: out += "for _, cp in utf8.codes(\(stringExpression())) do R[#R + 1] = cp end\n"
        case 24:
            let f = fresh()
            out += "local function \(f)(n) if n > 0 then return \(f)(n - 1) \(c.pick(["", "+ 1", ".. 'x'"])) end return \(expression()) end\n"
            out += "\(variable()) = \(f)(\(c.count(50000)))\n"
        case 25: out += "local _ = os.date(\(c.pick(["'%c'", "'!%Y-%m-%dT%H:%M:%S'", "'*t'", "'!*t'", "'%Ez'", "'%'", "'%Q'"])), \(number()))\n"
        case 26: out += "local _ = tostring(\(expression())) .. #\(c.pick(["v3", "v4", "R", "v7"]))\n"
        default: out += "\(variable())[\(expression())] = \(expression())\n"
        }
        if wrapped { out += "end)\n" }
    }

    mutating func coroutineStatement() {
        let co = fresh()
        out += "local \(co) = coroutine.\(c.pick(["create", "wrap"]))(function(a, b)\n"
        block(c.pick(3))
        out += "coroutine.yield(\(expression()))\n"
        block(c.pick(2))
        out += "return \(expression())\nend)\n"
        for _ in 0..<c.pick(4) {
            out += "pcall(\(co), \(expression()))\n"
            out += "pcall(coroutine.resume, \(co), \(expression()))\n"
        }
        switch c.pick(4) {
        case 0: out += "pcall(coroutine.close, \(co))\n"
        case 1: out += "v6 = \(co)\n"
        case 2: out += "local _ = coroutine.status(\(co)), coroutine.isyieldable(), coroutine.running()\n"
        default: break
        }
    }

    /// Coroutines whose `<close>` handlers resume more coroutines, `n` deep.
    mutating func closeChain() {
        let mk = fresh()
        let inner = c.pick([
            "if n > 0 then \(mk)(n - 1)() end",
            "if n > 0 then local co = \(mk)(n - 1) co() coroutine.close(co) end",
            "error('close ' .. n)",
            "coroutine.yield(n)",
            "if n > 0 then pcall(\(mk)(n - 1)) end",
        ])
        out += """
            local function \(mk)(n)
              return coroutine.wrap(function()
                local x <close> = setmetatable({}, {__close = function() \(inner) end})
                coroutine.yield(n)
                \(c.pick(["", "error('body')", "return n"]))
              end)
            end
            do local co = \(mk)(\(c.count(400))) pcall(co) pcall(co) end

            """
    }

    mutating func xpcallStatement() {
        let handler = c.pick([
            "function(m) return m end",
            "function(m) while true do end end",
            "function(m) error(m) end",
            "function(m) return xpcall(error, function(e) error(e) end, m) end",
            "function(m) local t = {} for i = 1, 1e9 do t[i % 7] = m end end",
            "function(m) coroutine.yield(m) end",
            "function(m) return string.rep(tostring(m), 1e9) end",
            "error",
            "print",
        ])
        out += "pcall(xpcall, function()\n"
        block(c.pick(2))
        out += "\(c.pick(["error(\(expression()))", "local x = nil + 1", "return \(expression())", "error(setmetatable({}, {__tostring = function() error('t') end}))"]))\nend, \(handler))\n"
    }

    mutating func loadStatement() {
        let source: String
        switch c.pick(5) {
        case 0:
            var inner = LuaGenerator(Array(repeating: 0, count: 0))
            inner.c = c
            inner.budget = 3
            inner.depth = depth + 4
            inner.statement()
            c = inner.c
            source = "[==[" + inner.out.replacingOccurrences(of: "]==]", with: "") + "]==]"
        case 1: source = "string.rep('(', \(c.count(1000))) .. '1' .. string.rep(')', \(c.count(1000)))"
        case 2: source = "'return ' .. string.rep('x or ', \(c.count(20000))) .. 'x'"
        case 3: source = "string.rep('do ', \(c.count(400))) .. string.rep('end ', \(c.count(400)))"
        default: source = stringExpression()
        }
        let f = fresh()
        let env = c.pick(["", ", 'n', 't'", ", 'n', 'b'", ", 'n', 't', {}", ", 'n', 't', v4", ", nil, nil, _ENV"])
        out += "local \(f) = load(\(source)\(env))\nif \(f) then pcall(\(f), \(expression())) end\n"
    }

    /// A table whose subtables are shared: a DAG (and sometimes a cycle) that copying must not blow up.
    mutating func sharedTables() {
        let t = fresh()
        out += "local \(t) = {}\nfor i = 1, \(c.count(64)) do \(t) = {\(t), \(t), k = \(t)} end\n"
        if c.pick(3) == 0 { out += "\(t).self = \(t)\n" }
        out += "\(c.pick(["R[#R + 1]", variable()])) = \(t)\n"
    }

    mutating func iterate() {
        switch c.pick(6) {
        case 0: out += "for k, v in pairs(\(expression())) do R[#R + 1] = k end\n"
        case 1: out += "for k, v in ipairs(\(expression())) do if k > 50 then break end end\n"
        case 2: out += "local _ = next(\(expression()), \(expression()))\n"
        case 3 where !Self.avoidKnown:
            // The environment's iterator, called by hand with anything.
            out += "do local f, s, k = pairs(_ENV) pcall(f, \(expression()), \(expression())) pcall(f, s, \(expression())) end\n"
        case 4: out += "do local f = pairs(\(c.pick(["string", "table", "math", "coroutine", Self.env, "getmetatable('')"]))) pcall(f, \(expression()), \(expression())) end\n"
        default: out += "for k in pairs(setmetatable({}, {__pairs = function(t) return \(c.pick(["next", "pairs(\(Self.env))", "function() return nil end", "error"])), \(expression()), nil end})) do R[#R + 1] = k end\n"
        }
    }

    mutating func tableFunction() {
        let t = c.pick(["v4", "R", "v7", "{}", "{1, 2, 3}", "setmetatable({}, {__index = function(t, k) return k end, __len = function() return \(bigNumber()) end})"])
        switch c.pick(7) {
        case 0: out += "table.insert(\(t), \(number()), \(expression()))\n"
        case 1: out += "local _ = table.remove(\(t), \(number()))\n"
        case 2: out += "table.move(\(t), \(number()), \(number()), \(number()), \(c.pick(["v4", "R", "{}", t])))\n"
        case 3: out += "local _ = table.concat(\(t), \(stringExpression()), \(number()), \(number()))\n"
        case 4: out += "table.sort(\(t)\(c.pick(["", ", function(a, b) return true end", ", function(a, b) error('x') end", ", function(a, b) return tostring(a) < tostring(b) end"])))\n"
        case 5: out += "local _ = select('#', table.unpack(\(t), \(number()), \(number())))\n"
        default: out += "local _ = table.pack(\(expression()), \(expression())).n\n"
        }
    }

    mutating func patternCall() {
        let s = stringExpression(), p = pattern()
        switch c.pick(4) {
        case 0: out += "local _ = string.find(\(s), \(p), \(number()), \(c.pick(["true", "false", "nil"])))\n"
        case 1: out += "local _ = string.match(\(s), \(p), \(number()))\n"
        case 2: out += "for a, b in string.gmatch(\(s), \(p)) do R[#R + 1] = a end\n"
        default:
            let repl = c.pick(["'%0%0'", "'%1'", "'%%'", "{}", "v4", "function(a) return a end", "function() error('g') end", "function(a) return \(stringExpression()) end", "'%9'"])
            out += "local _ = string.gsub(\(s), \(p), \(repl), \(c.pick(["nil", "1", "-1", "math.maxinteger"])))\n"
        }
    }

    // MARK: Expressions

    mutating func expression() -> String {
        guard depth < 10 else { return atom() }
        depth += 1
        defer { depth -= 1 }
        switch c.pick(14) {
        case 0, 1, 2: return atom()
        case 3: return "(\(expression()) \(c.pick(["+", "-", "*", "/", "//", "%", "^", "..", "==", "<", "<=", "and", "or", "&", "|", "~", "<<", ">>"])) \(expression()))"
        case 4: return "\(c.pick(["-", "not ", "#", "~"]))\(atom())"
        case 5: return call()
        case 6: return "{\(expression()), \(expression()), [\(expression())] = \(expression())}"
        case 7: return "function(...) \(c.pick(["return ...", "return select('#', ...)", "error(...)", "return coroutine.yield(...)"])) end"
        case 8: return "setmetatable({}, \(metatable()))"
        case 9: return "\(variable())[\(expression())]"
        case 10: return "\(variable())(\(expression()))"
        case 11: return stringExpression()
        case 12 where !Self.avoidKnown: return chain()
        default: return "(\(expression()))"
        }
    }

    mutating func atom() -> String {
        switch c.pick(6) {
        case 0: return variable()
        case 1: return number()
        case 2: return stringLiteral()
        case 3: return c.pick(["nil", "true", "false", "_ENV", "string", "R", "{}", "coroutine.running()", "select('#')"])
        default: return variable()
        }
    }

    mutating func number() -> String {
        c.pick(["0", "1", "-1", "2", "3", "7", "255", "256", "65536", "0.5", "-0.0", "1e308", "1/0", "-1/0", "0/0",
                "math.maxinteger", "math.mininteger", "math.maxinteger // 2", "2^53", "-2^63", "0x7fffffff",
                "0xffffffff", "1e9", "\(c.count(100000))", "'10'", "'0x10'", "' 5 '"])
    }

    mutating func bigNumber() -> String {
        c.pick(["0", "1", "-1", "100", "1e6", "1e8", "2^31", "math.maxinteger", "math.mininteger", "2^53", "\(c.count(1 << 14))", "1/0", "0/0"])
    }

    mutating func stringLiteral() -> String {
        c.pick(["''", "'a'", "'abc'", "'\\0'", "'\\255\\254'", "'%'", "'%d'", "'(('", "'))'", "'\\u{10FFFF}'", "'\\xF4\\x90\\x80\\x80'",
                "'\\xC0\\x80'", "'nil'", "'1e5'", "'__index'", "'__close'", "'_ENV'", "'return 1'", "'x or y'", "'[[]]'"])
    }

    mutating func stringExpression() -> String {
        switch c.pick(5) {
        case 0: return "string.rep(\(stringLiteral()), \(c.count(5000)))"
        case 1: return "tostring(\(atom()))"
        case 2: return "(\(stringLiteral()) .. \(stringLiteral()))"
        default: return stringLiteral()
        }
    }

    mutating func pattern() -> String {
        let pieces = ["%a", "%d", "%s", "%w", "%p", "%c", "%x", "%u", "%l", "%g", ".", "(", ")", "()", "%b()", "%bxy", "%f[%w]",
                      "%f[^%s]", "*", "+", "-", "?", "[", "]", "[^", "[a-z]", "[%a-]", "%1", "%2", "%0", "^", "$", "%", "a", "x", "\\0"]
        var p = ""
        for _ in 0..<c.count(40) { p += c.pick(pieces) }
        if c.pick(6) == 0 { return "string.rep('\(p)', \(c.count(300)))" }
        return "'" + p + "'"
    }

    mutating func formatString() -> String {
        c.pick(["'%d'", "'%5.2f'", "'%q'", "'%s%s%s'", "'%99d'", "'%-99.99f'", "'%a'", "'%x'", "'%c'", "'%i'", "'%'", "'%10q'", "'%.99s'",
                "'%g %g %g'", "'%s'", "'%999d'", "'%#x'", "'%p'"])
    }

    mutating func packFormat() -> String {
        c.pick(["'i4'", "'s1'", "'z'", "'!8 i16'", "'j n'", "'<I3 >I5'", "'c1000'", "'s'", "'i17'", "'Xi8'", "'=!4 h b'", "'c0'",
                "'j' .. string.rep('x', 1000)", "'i0'", "' '"])
    }

    /// A long chain of `or` / `and`, with comparisons and parentheses here and there.
    mutating func chain() -> String {
        let n = c.count(6000)
        let ops = [" or ", " and "]
        let op = c.pick(3)
        var s = "v1"
        s.reserveCapacity(n * 8)
        for i in 0..<n {
            s += op == 2 ? ops[i & 1] : ops[op]
            s += Self.variables[i % 8]
        }
        return "(" + s + ")"
    }

    /// Deep nesting of one construct.
    mutating func nesting() -> String {
        let n = c.count(400)
        switch c.pick(6) {
        case 0: return String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n)
        case 1: return String(repeating: "{", count: n) + String(repeating: "}", count: n)
        case 2: return String(repeating: "function() return ", count: n) + "1" + String(repeating: " end", count: n)
        case 3: return String(repeating: "-", count: 1) + String(repeating: "(- ", count: n) + "1" + String(repeating: ")", count: n)
        case 4: return String(repeating: "#{", count: n) + "1" + String(repeating: "}", count: n)
        default: return String(repeating: "not ", count: n) + "nil"
        }
    }

    mutating func metatable() -> String {
        var fields: [String] = []
        for _ in 0..<(1 + c.pick(4)) {
            switch c.pick(14) {
            case 0: fields.append("__index = \(c.pick(["function(t, k) return t[k] end", "function(t, k) return k end", "v4", "R", "setmetatable({}, {__index = function() error('i') end})", "string"]))")
            case 1: fields.append("__newindex = \(c.pick(["function(t, k, v) rawset(t, k, v) end", "function(t, k, v) t[k] = v end", "v4", "function() error('n') end"]))")
            case 2: fields.append("__len = \(c.pick(["function() return \(bigNumber()) end", "function(t) return #t end", "function() return 'x' end"]))")
            case 3: fields.append("__tostring = \(c.pick(["function() return 'T' end", "function() return 1 end", "function(t) return tostring(t) end", "function() error('s') end", "function() return string.rep('x', 1e6) end"]))")
            case 4: fields.append("__call = \(c.pick(["function(self, ...) return ... end", "function(self) return self() end", "v5"]))")
            case 5: fields.append("__close = function() \(c.pick(["", "error('c')", "coroutine.yield()", "while true do end"])) end")
            case 6: fields.append("__eq = function() return \(c.pick(["true", "false", "error('e')"])) end")
            case 7: fields.append("__lt = function(a, b) return a < b end")
            case 8: fields.append("__concat = function(a, b) return \(c.pick(["a", "'c'", "{}"])) end")
            case 9: fields.append("__mode = \(c.pick(["'k'", "'v'", "'kv'"]))")
            case 10: fields.append("__metatable = \(c.pick(["false", "'locked'", "{}"]))")
            case 11: fields.append("__name = \(c.pick(["'N'", "1", "{}"]))")
            case 12: fields.append("__pairs = function(t) return \(c.pick(["next", "pairs(\(Self.env))", "error"])), t, nil end")
            default: fields.append("__gc = function() end")
            }
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    mutating func call() -> String {
        switch c.pick(16) {
        case 0: return "select(\(c.pick(["'#'", "1", "-1", "2", "math.mininteger", "0"])), \(expression()), \(expression()))"
        case 1: return "tostring(\(expression()))"
        case 2: return "tonumber(\(expression()), \(c.pick(["nil", "2", "16", "36", "37", "1"])))"
        case 3: return "rawlen(\(expression()))"
        case 4: return "rawequal(\(expression()), \(expression()))"
        case 5: return "rawget(\(expression()), \(expression()))"
        case 6: return "getmetatable(\(expression()))"
        case 7: return "type(\(expression()))"
        case 8: return "math.\(c.pick(["floor", "ceil", "abs", "tointeger", "fmod", "max", "min", "ult", "type", "modf", "random", "sqrt", "log"]))(\(number()), \(number()))"
        case 9: return "string.\(c.pick(["byte", "sub", "upper", "lower", "reverse", "len", "char"]))(\(stringExpression()), \(number()), \(number()))"
        case 10: return "pcall(\(expression()), \(expression()))"
        case 11: return "coroutine.\(c.pick(["resume", "status", "close", "wrap", "isyieldable", "running"]))(\(c.pick(["v6", "v5", "coroutine.running()", "nil"])))"
        case 12: return "collectgarbage(\(c.pick(["'count'", "'collect'", "nil", "'step'"])))"
        case 13: return "(\(expression()))(\(expression()))"
        case 14: return "error(\(expression()), \(c.pick(["0", "1", "2", "3"])))"
        default: return "next(\(expression()))"
        }
    }
}
