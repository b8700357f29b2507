-- agent-architect: scores every Loom manifest (skill.toml, agent.toml) in the tree out of 100,
-- against a threshold of 90. The rubric, for skills: a valid name 10, a semantic version 10, a
-- description 15, capabilities provided 15, explicit permissions 10, the entry file present 15,
-- tests 25. For agents: a valid name 10, a description 15, a domain 10, capabilities used 15,
-- the behaviour file present 15, a handler (on_task or on_message) 10, tests 25.
local audit = use("audit@1")
local fs = use("fs.read@1")

local THRESHOLD = 90

local function analyse(_, text)
  local t = audit.toml(text)
  return {
    name = type(t.name) == "string" and t.name or nil,
    version = type(t.version) == "string" and t.version or nil,
    description = type(t.description) == "string" and t.description or nil,
    domain = type(t.domain) == "string" and t.domain or nil,
    provides = type(t.provides) == "table" and #t.provides or 0,
    uses = type(t.uses) == "table" and #t.uses or 0,
    permissions = type(t.permissions) == "table",
    entry = type(t.entry) == "string" and t.entry or nil,
    behaviour = type(t.behaviour) == "string" and t.behaviour or nil,
  }
end

local function score(kind, m, folder, present, behaviour)
  local points, missing = 0, {}
  local function check(ok, value, what)
    if ok then points = points + value else missing[#missing + 1] = what end
  end
  check(m.name ~= nil and m.name:match("^[a-z][a-z0-9%-]*$") ~= nil, 10, "a valid name")
  check(m.description ~= nil and #m.description >= 10, 15, "a description")
  local tests = false
  for path in pairs(present) do
    if path:sub(1, #folder + 1) == folder .. "/" and (path:match("_test%.lua$") or path:sub(#folder + 2):match("^tests/")) then
      tests = true
    end
  end
  if kind == "skill" then
    check(m.version ~= nil and m.version:match("^%d+%.%d+%.%d+") ~= nil, 10, "a semantic version")
    check(m.provides > 0, 15, "provided capabilities")
    check(m.permissions, 10, "explicit permissions")
    check(present[folder .. "/" .. (m.entry or "init.lua")] ~= nil, 15, "its entry file")
  else
    check(m.domain ~= nil, 10, "a domain")
    check(m.uses > 0, 15, "declared capabilities")
    check(behaviour ~= nil, 15, "its behaviour file")
    check(behaviour ~= nil and (behaviour:find("on_task", 1, true) or behaviour:find("on_message", 1, true)) ~= nil, 10, "a handler")
  end
  check(tests, 25, "tests")
  return points, missing
end

on_task = audit.auditor(self.kind, function(task)
  local root = task.root or "tree"
  local present = {}
  for _, f in ipairs(audit.files(task)) do present[audit.relative(f.path)] = true end
  local results, counts = audit.each_file(task, self.kind, audit.is_manifest, analyse)
  local findings, rows, total, passing, n = {}, {}, 0, 0, 0
  for _, f in ipairs(audit.files(task)) do
    local m = results[f.path]
    if m and not m.skipped then
      local file = audit.relative(f.path)
      local folder = audit.dirname(file)
      local kind = audit.basename(file) == "skill.toml" and "skill" or "agent"
      local behaviour
      if kind == "agent" then
        behaviour = fs.read(root .. "/" .. (folder == "" and "" or folder .. "/") .. (m.behaviour or "agent.lua"))
      end
      local points, missing = score(kind, m, folder, present, behaviour)
      n = n + 1
      total = total + points
      if points >= THRESHOLD then passing = passing + 1 end
      rows[#rows + 1] = {file, kind, points, #missing > 0 and table.concat(missing, ", ") or "-"}
      if points < THRESHOLD then
        findings[#findings + 1] = audit.finding(points < 60 and "medium" or "low", "manifest.below-threshold", file, 1,
          string.format("%s '%s' scores %d/100 (threshold %d); missing: %s", kind, m.name or "?", points, THRESHOLD,
                        table.concat(missing, ", ")))
      end
    end
  end
  return audit.report(self.kind, {
    title = "Manifests",
    summary = string.format("%d manifests, %d at or above %d; average %.0f", n, passing, THRESHOLD, n > 0 and total / n or 0),
    findings = findings,
    tables = {{title = "Manifest scores", header = {"Manifest", "Kind", "Score", "Missing"}, rows = rows}},
    stats = {manifests = n, passing = passing, average = n > 0 and total / n or 0},
  }, counts)
end)
