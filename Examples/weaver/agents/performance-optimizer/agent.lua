-- performance-optimizer: very long functions (over 80 lines), deep nesting (over 5 levels inside
-- a function or file), and large files (over 1,000 lines). Nesting is counted with braces in
-- brace languages, block keywords in Lua, and indentation in Python.
local audit = use("audit@1")

local LONG_FUNCTION = 80
local DEEP = 5
local LARGE_FILE = 1000

local BRACES = {Swift = true, C = true, ["C++"] = true, ["Objective-C"] = true, JavaScript = true,
                TypeScript = true, Go = true, Rust = true, Java = true, Kotlin = true, ["C#"] = true, Scala = true, PHP = true}

-- A line without its strings and comments.
local function code_of(line, lang)
  local s = line:gsub('\\.', ""):gsub('"[^"]*"', '""'):gsub("'[^']*'", "''")
  if lang == "Lua" then s = s:gsub("%-%-.*$", "") elseif lang == "Python" or lang == "Shell" then s = s:gsub("#.*$", "")
  else s = s:gsub("//.*$", "") end
  return s
end

local function function_header(code, lang)
  if lang == "Lua" then return code:match("function[%s%(]") ~= nil end
  if lang == "C" or lang == "C++" or lang == "Objective-C" then
    return code:match("^[%a_][%w_%s%*]*[%w_%*]%s+%**[%a_][%w_]*%s*%(") ~= nil and not code:match(";%s*$")
  end
  return code:match("%f[%w]func%f[%W]") ~= nil or code:match("%f[%w]function%f[%W]") ~= nil
    or code:match("%f[%w]fn%f[%W]") ~= nil or code:match("%f[%w]fun%f[%W]") ~= nil
    or code:match("%f[%w]init%s*[%(<]") ~= nil
end

local function analyse(path, text)
  local lang = audit.language(path)
  local lines = audit.lines(text)
  local out = {lines = #lines, long = {}, deep = {}}
  local depth = 0
  local stack = {}       -- open functions: {line, depth before, name}
  local deep_reported = false
  for n, line in ipairs(lines) do
    local code = code_of(line, lang)
    local opens, closes = 0, 0
    if BRACES[lang] then
      local _, o = code:gsub("{", "")
      local _, c = code:gsub("}", "")
      opens, closes = o, c
    elseif lang == "Lua" then
      for word in code:gmatch("%f[%w_][%a_]+%f[^%w_]") do
        if word == "function" or word == "do" or word == "then" or word == "repeat" then opens = opens + 1
        elseif word == "end" or word == "until" or word == "elseif" then closes = closes + 1 end
      end
    elseif lang == "Python" then
      if not line:match("^%s*$") then
        local indent = #line:match("^(%s*)") // 4
        while #stack > 0 and indent <= stack[#stack][2] do
          local f = table.remove(stack)
          if f[4] - f[1] + 1 > LONG_FUNCTION then out.long[#out.long + 1] = {f[1], f[4] - f[1] + 1, f[3]} end
        end
        if indent > DEEP and not deep_reported then
          out.deep[#out.deep + 1] = {n, indent}
          deep_reported = true
        end
        if code:match("^%s*def%s") then stack[#stack + 1] = {n, indent, code:match("def%s+([%w_]+)") or "?", n} end
        for _, f in ipairs(stack) do f[4] = n end
      end
    end
    if lang ~= "Python" then
      if opens > 0 and function_header(code, lang) then
        stack[#stack + 1] = {n, depth, code:match("([%w_%.:]+)%s*[%(<]") or "?"}
      end
      depth = depth + opens - closes
      if depth > DEEP and not deep_reported then
        out.deep[#out.deep + 1] = {n, depth}
        deep_reported = true
      elseif depth <= DEEP - 2 then
        deep_reported = false
      end
      while #stack > 0 and depth <= stack[#stack][2] do
        local f = table.remove(stack)
        local length = n - f[1] + 1
        if length > LONG_FUNCTION then out.long[#out.long + 1] = {f[1], length, f[3]} end
      end
      if depth < 0 then depth = 0 end
    end
  end
  for _, f in ipairs(stack) do
    if lang == "Python" and f[4] - f[1] + 1 > LONG_FUNCTION then out.long[#out.long + 1] = {f[1], f[4] - f[1] + 1, f[3]} end
  end
  return out
end

on_task = audit.auditor(self.kind, function(task)
  local results, counts = audit.each_file(task, self.kind, audit.is_code, analyse)
  local findings, long, deep, large = {}, 0, 0, 0
  for _, f in ipairs(audit.files(task)) do
    local r = results[f.path]
    if r and r.lines then
      local file = audit.relative(f.path)
      for _, x in ipairs(r.long) do
        long = long + 1
        findings[#findings + 1] = audit.finding(x[2] > 2 * LONG_FUNCTION and "medium" or "low", "long-function", file, x[1],
          string.format("'%s' is %d lines long (limit %d)", x[3], x[2], LONG_FUNCTION))
      end
      for _, x in ipairs(r.deep) do
        deep = deep + 1
        findings[#findings + 1] = audit.finding("low", "deep-nesting", file, x[1],
          string.format("code nests %d levels deep (limit %d)", x[2], DEEP))
      end
      if r.lines > LARGE_FILE then
        large = large + 1
        findings[#findings + 1] = audit.finding("medium", "large-file", file, 1,
          string.format("%d lines (limit %d)", r.lines, LARGE_FILE))
      end
    end
  end
  return audit.report(self.kind, {
    title = "Performance and complexity",
    summary = string.format("%d long functions, %d deeply nested places, %d large files", long, deep, large),
    findings = findings,
    stats = {long_functions = long, deep_nesting = deep, large_files = large},
  }, counts)
end)
