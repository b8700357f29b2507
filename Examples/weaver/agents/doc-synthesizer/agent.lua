-- doc-synthesizer: whether the tree has a README and docs, and how many public declarations carry
-- a doc comment (Swift `///`, Lua `---`, Go `//`, JavaScript/TypeScript `/** */`, Python
-- docstrings).
local audit = use("audit@1")

local SWIFT_DECL = {"func", "var", "let", "struct", "class", "enum", "protocol", "init", "typealias", "actor", "subscript"}

local function swift_decl(line)
  local rest = line:match("^%s*public%s+(.*)$") or line:match("^%s*open%s+(.*)$")
  if not rest then return nil end
  -- Modifiers between `public` and the keyword.
  for _ = 1, 4 do
    local m, r = rest:match("^(%a+)%s+(.*)$")
    if not m then break end
    local keyword = false
    for _, k in ipairs(SWIFT_DECL) do if m == k then keyword = true end end
    if keyword then
      return r:match("^([%w_]+)") or m
    end
    rest = r
  end
  if rest:match("^init[%(<?!]") then return "init" end
  if rest:match("^subscript[%(<]") then return "subscript" end
  return nil
end

local function previous(lines, n, skip_attributes)
  local i = n - 1
  while i >= 1 do
    local l = lines[i]
    if not (skip_attributes and l:match("^%s*@")) then return l end
    i = i - 1
  end
  return ""
end

local function analyse(path, text)
  local lang = audit.language(path)
  local lines = audit.lines(text)
  local decls, documented, missing = 0, 0, {}
  for n, line in ipairs(lines) do
    local name, doc
    if lang == "Swift" then
      name = swift_decl(line)
      if name then
        local p = previous(lines, n, true)
        doc = p:match("^%s*///") ~= nil or p:match("%*/%s*$") ~= nil
      end
    elseif lang == "Lua" then
      name = line:match("^function%s+[%w_]+[%.:]([%w_]+)")
      if name then doc = previous(lines, n):match("^%s*%-%-%-") ~= nil end
    elseif lang == "Go" then
      name = line:match("^func%s+(%u[%w_]*)") or line:match("^func%s+%b()%s*(%u[%w_]*)") or line:match("^type%s+(%u[%w_]*)")
      if name then doc = previous(lines, n):match("^%s*//") ~= nil end
    elseif lang == "JavaScript" or lang == "TypeScript" then
      name = line:match("^export%s+default%s+function%s+([%w_$]+)") or line:match("^export%s+%a+%s+([%w_$]+)")
      if name then doc = previous(lines, n):match("%*/%s*$") ~= nil end
    elseif lang == "Python" then
      name = line:match("^def%s+([%a][%w_]*)") or line:match("^class%s+([%a][%w_]*)")
      if name then
        local i = n
        while lines[i] and not lines[i]:match(":%s*$") and i < n + 10 do i = i + 1 end
        i = i + 1
        while lines[i] and lines[i]:match("^%s*$") do i = i + 1 end
        doc = lines[i] ~= nil and (lines[i]:match('^%s*"""') ~= nil or lines[i]:match("^%s*'''") ~= nil)
      end
    end
    if name then
      decls = decls + 1
      if doc then documented = documented + 1 else missing[#missing + 1] = {n, name} end
    end
  end
  return {lang = lang, decls = decls, documented = documented, missing = missing}
end

local function has(files, predicate)
  for _, f in ipairs(files) do if predicate(audit.relative(f.path)) then return true end end
  return false
end

on_task = audit.auditor(self.kind, function(task)
  local files = audit.files(task)
  local results, counts = audit.each_file(task, self.kind, audit.is_code, analyse)
  local findings = {}
  local readme = has(files, function(p) return p:match("^[Rr][Ee][Aa][Dd][Mm][Ee]") ~= nil and not p:find("/") end)
  local docs = has(files, function(p) return p:match("^docs?/") ~= nil or p:match("^Documentation/") ~= nil end)
  if not readme then
    findings[#findings + 1] = audit.finding("high", "docs.no-readme", "", 0, "the tree has no README at its top")
  end
  if not docs then
    findings[#findings + 1] = audit.finding("medium", "docs.no-docs-folder", "", 0, "the tree has no docs/ folder")
  end
  local by, total, documented = {}, 0, 0
  for _, f in ipairs(files) do
    local r = results[f.path]
    if r and r.decls and r.decls > 0 then
      local l = by[r.lang] or {decls = 0, documented = 0}
      by[r.lang] = l
      l.decls = l.decls + r.decls
      l.documented = l.documented + r.documented
      total = total + r.decls
      documented = documented + r.documented
      for _, m in ipairs(r.missing) do
        findings[#findings + 1] = audit.finding("low", "docs.undocumented", audit.relative(f.path), m[1],
                                                "public '" .. m[2] .. "' has no doc comment")
      end
    end
  end
  local rows, names = {}, {}
  for name in pairs(by) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local l = by[name]
    rows[#rows + 1] = {name, l.decls, l.documented, string.format("%.0f%%", 100 * l.documented / l.decls)}
  end
  local coverage = total > 0 and documented / total or 1
  return audit.report(self.kind, {
    title = "Documentation",
    summary = string.format("README %s, docs/ %s; %d of %d public declarations documented (%.0f%%)",
                            readme and "present" or "missing", docs and "present" or "missing",
                            documented, total, coverage * 100),
    findings = findings,
    tables = {{title = "Doc-comment coverage", header = {"Language", "Public declarations", "Documented", "Coverage"}, rows = rows}},
    stats = {readme = readme, docs = docs, declarations = total, documented = documented, coverage = coverage},
  }, counts)
end)
