-- test-architect: test files against source files per module, and the modules without tests.
-- Modules are Swift package targets (Sources/M, tested by Tests/MTests), Loom skills and agents
-- (a folder with skill.toml or agent.toml, tested by *_test.lua or tests/ inside it), and
-- otherwise the top-level folders with code (tested by test files anywhere under them, or by a
-- top-level tests/ or test/ folder that names them).
local audit = use("audit@1")

local function is_test(path)
  local name = audit.basename(path)
  return path:match("^Tests/") ~= nil or path:match("/Tests/") ~= nil or path:match("^tests?/") ~= nil
    or path:match("/tests?/") ~= nil or name:match("_test%.%w+$") ~= nil or name:match("^test_.*%.py$") ~= nil
    or name:match("Tests?%.swift$") ~= nil or name:match("%.test%.[jt]sx?$") ~= nil
    or name:match("%.spec%.[jt]sx?$") ~= nil or name:match("_spec%.lua$") ~= nil
end

-- Test cases in a test file.
local function analyse(_, text)
  local cases = 0
  for _, line in ipairs(audit.lines(text)) do
    if line:match("^%s*@Test%f[%W]") or line:match("^%s*func%s+test") or line:match("^%s*def%s+test")
      or line:match("^%s*it%s*%(") or line:match("^%s*test%s*%(") then
      cases = cases + 1
    end
  end
  return {cases = cases}
end

on_task = audit.auditor(self.kind, function(task)
  local files = audit.files(task)
  local results, counts = audit.each_file(task, self.kind, function(path)
    return audit.is_code(path) and is_test(audit.relative(path))
  end, analyse)
  local modules, order = {}, {}
  local function module(name, kind)
    if not modules[name] then
      modules[name] = {name = name, kind = kind, sources = 0, tests = 0, cases = 0}
      order[#order + 1] = name
    end
    return modules[name]
  end
  -- Loom folders first: a file belongs to the innermost one.
  local loom = {}
  for _, f in ipairs(files) do
    local p = audit.relative(f.path)
    local name = audit.basename(p)
    if name == "skill.toml" or name == "agent.toml" then loom[#loom + 1] = audit.dirname(p) end
  end
  table.sort(loom, function(a, b) return #a > #b end)
  local function owner(p)
    for _, folder in ipairs(loom) do
      if folder == "" or p:sub(1, #folder + 1) == folder .. "/" then return module(folder == "" and "." or folder, "loom") end
    end
    local target = p:match("^Sources/([^/]+)/")
    if target then return module("Sources/" .. target, "swift") end
    local tested = p:match("^Tests/([^/]+)Tests/")
    if tested then return module("Sources/" .. tested, "swift") end
    local top = p:match("^([^/]+)/")
    if top and top ~= "Tests" and top ~= "tests" and top ~= "test" then return module(top, "folder") end
    return nil
  end
  local stray = 0
  for _, f in ipairs(files) do
    local p = audit.relative(f.path)
    if audit.is_code(f.path) then
      local m = owner(p)
      if is_test(p) then
        if m then
          m.tests = m.tests + 1
          m.cases = m.cases + ((results[f.path] or {}).cases or 0)
        else
          stray = stray + 1
        end
      elseif m then
        m.sources = m.sources + 1
      end
    end
  end
  table.sort(order)
  local findings, rows, untested = {}, {}, 0
  for _, name in ipairs(order) do
    local m = modules[name]
    if m.sources > 0 then
      rows[#rows + 1] = {name, m.sources, m.tests, m.cases}
      if m.tests == 0 then
        untested = untested + 1
        findings[#findings + 1] = audit.finding("medium", "tests.missing", name, 0,
          string.format("%s has %d source files and no tests", name, m.sources))
      end
    end
  end
  return audit.report(self.kind, {
    title = "Tests",
    summary = string.format("%d modules, %d without tests", #rows, untested),
    findings = findings,
    tables = {{title = "Tests per module", header = {"Module", "Source files", "Test files", "Test cases"}, rows = rows}},
    stats = {modules = #rows, untested = untested, unowned_tests = stray},
  }, counts)
end)
