-- Differential test of Loom's pattern functions against Lua's own string library.
-- Called with (ref, ours): two tables with find, match, gmatch and gsub. Returns the number of
-- cases compared; raises an error describing the first difference.
local ref, ours = ...

local function show(t)
  local parts = {}
  for i = 1, t.n do
    local v = t[i]
    parts[#parts + 1] = type(v) == "string" and string.format("%q", v) or tostring(v)
  end
  return "(" .. table.concat(parts, ", ") .. ")"
end

local function same(a, b)
  if a.n ~= b.n then return false end
  for i = 1, a.n do
    if a[i] ~= b[i] or math.type(a[i]) ~= math.type(b[i]) then return false end
  end
  return true
end

local cases = 0
local function compare(label, f, g, ...)
  cases = cases + 1
  local a = table.pack(pcall(f, ...))
  local b = table.pack(pcall(g, ...))
  if not same(a, b) then
    error(string.format("%s%s differs:\n  lua:  %s\n  loom: %s", label, show(table.pack(...)), show(a), show(b)), 0)
  end
end

local function all_matches(gmatch, s, p, init)
  local out, n = {}, 0
  for a, b, c in gmatch(s, p, init) do
    n = n + 1
    out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
    if n > 200 then break end
  end
  return table.concat(out, ";")
end

local function check(s, p, init, repl)
  compare("find", ref.find, ours.find, s, p, init)
  compare("find(plain)", ref.find, ours.find, s, p, init, true)
  compare("match", ref.match, ours.match, s, p, init)
  compare("gmatch", function(...) return all_matches(ref.gmatch, ...) end,
                    function(...) return all_matches(ours.gmatch, ...) end, s, p, init)
  compare("gsub", ref.gsub, ours.gsub, s, p, repl)
  compare("gsub(n)", ref.gsub, ours.gsub, s, p, repl, 2)
end

-- Hand-written cases, including every error path.
local fixed = {
  {"hello world", "o w"}, {"hello world", "(o)%s(w)"}, {"key = value", "(%w+)%s*=%s*(%w+)"},
  {"hello", ""}, {"", ""}, {"", "a*"}, {"abc", "^abc$"}, {"abc", "^b"}, {"a.b", "%."}, {"a.b", "."},
  {"THE (quick) fox", "%f[%a]%a+"}, {"THE (quick) fox", "%f[%A]"}, {"x = (a(b)c)", "%b()"},
  {"abcabc", "()(b)()"}, {"aaa", "a-"}, {"aaa", "a-$"}, {"aaab", "a*b"}, {"b", "a?b"}, {"ab", "a?b"},
  {"[]", "[]]"}, {"a]b", "[]]"}, {"a-b", "[a-]"}, {"a-b", "[-a]"}, {"a^b", "[%^]"}, {"a^b", "[b^]"},
  {"x1_y2", "[%w_]+"}, {"  trim  ", "^%s*(.-)%s*$"}, {"abab", "(ab)%1"}, {"aXa", "(a)X%1"},
  {"date 2026-11-24", "(%d+)-(%d+)-(%d+)"}, {"\0a\0", "%z"}, {"a\0b", "a%zb"}, {"a\0b", "\0"},
  {"tab\tx", "%c"}, {"UP low", "%u+"}, {"UP low", "%l+"}, {"x!y?", "%p"}, {"ff 0x1F", "%x+"},
  {"abc", "%g+"}, {"a b", "%S+"}, {"a b", "%D+"},
  -- errors
  {"abc", "%"}, {"abc", "[a"}, {"abc", "[^"}, {"abc", "(a"}, {"abc", "a)"}, {"abc", "%1"},
  {"abc", "(a)%2"}, {"abc", "%f"}, {"abc", "%fa"}, {"abc", "%b"}, {"abc", "%ba"},
  {"abc", string.rep("(", 40) .. "a" .. string.rep(")", 40)},
  {string.rep("a", 300), string.rep("a?", 300) .. string.rep("a", 300)},
  {"abc", "[%"}, {"abc", "[a-%]"}, {"abc", "(()"},
}
local inits = {nil, 1, 2, -1, -100, 0, 4, 100}
local repls = {"<%0>", "%1", "%2", "[%1|%2]", "%%", "x", "%", "%a", 7,
               {a = "A", b = false, ab = 12}, function(a, b) if a == "b" then return nil end return (a or "") .. "!" end,
               function() return {} end}
for _, c in ipairs(fixed) do
  for _, init in ipairs(inits) do
    for _, repl in ipairs(repls) do check(c[1], c[2], init, repl) end
  end
end

-- Random cases from a seeded generator (a small LCG, so the run is the same everywhere).
local seed = 20261124
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
local atoms = {"a", "b", "c", ".", "%a", "%d", "%s", "%w", "%W", "[ab]", "[^a]", "[a-c]", "[%d_]", "%%", "%.",
               "(", ")", "()", "*", "+", "-", "?", "^", "$", "%b()", "%f[%w]", "%f[%W]", "%1", "x", "]", "[]]",
               "1", " ", "%(", "%)"}
local letters = {"a", "a", "b", "c", " ", "(", ")", "1", "2", "_", "x", ".", "]", "\0"}
for _ = 1, 4000 do
  local p = {}
  for i = 1, rand(6) do p[i] = atoms[rand(#atoms)] end
  local s = {}
  for i = 1, rand(14) - 1 do s[i] = letters[rand(#letters)] end
  check(table.concat(s), table.concat(p), inits[rand(#inits)], repls[rand(#repls)])
end
return cases
