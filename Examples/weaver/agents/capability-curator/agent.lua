-- capability-curator: the skills and capabilities in the Loom trees found in the tree, and the
-- capabilities that something requires or uses but no skill in the tree provides (capabilities
-- the host provides aside).
local audit = use("audit@1")

local HOST = {["log@1"] = true, ["clock@1"] = true, ["messaging@1"] = true, ["memory@1"] = true, ["fs.read@1"] = true}

local function analyse(_, text)
  local t = audit.toml(text)
  local function list(v) return type(v) == "table" and v or {} end
  return {name = t.name, version = t.version, provides = list(t.provides), requires = list(t.requires),
          optional = list(t.optional), uses = list(t.uses)}
end

-- "search@1.2" and "search@1" name the same capability line: name@major.
local function key(ref) return (ref:match("^([^@]+@%d+)") or ref) end

on_task = audit.auditor(self.kind, function(task)
  local results, counts = audit.each_file(task, self.kind, audit.is_manifest, analyse)
  local provided, wanted, skills, agents = {}, {}, {}, 0
  for _, f in ipairs(audit.files(task)) do
    local m = results[f.path]
    if m and not m.skipped then
      local file = audit.relative(f.path)
      if audit.basename(file) == "skill.toml" then
        skills[#skills + 1] = {m.name or "?", m.version or "?", table.concat(m.provides, ", "), table.concat(m.requires, ", "), file}
        for _, c in ipairs(m.provides) do
          local k = key(c)
          provided[k] = provided[k] or {}
          table.insert(provided[k], m.name or file)
        end
        for _, c in ipairs(m.requires) do wanted[#wanted + 1] = {key(c), file} end
      else
        agents = agents + 1
        for _, c in ipairs(m.uses) do wanted[#wanted + 1] = {key(c), file} end
      end
    end
  end
  local findings, seen = {}, {}
  for _, w in ipairs(wanted) do
    local k, file = w[1], w[2]
    if not provided[k] and not HOST[k] and not seen[k .. file] then
      seen[k .. file] = true
      findings[#findings + 1] = audit.finding("medium", "capability.unprovided", file, 1,
        "needs " .. k .. ", which no skill in the tree provides")
    end
  end
  local caps = {}
  for k, by in pairs(provided) do
    table.sort(by)
    caps[#caps + 1] = {k, table.concat(by, ", ")}
  end
  table.sort(caps, function(a, b) return a[1] < b[1] end)
  table.sort(skills, function(a, b) return a[5] < b[5] end)
  return audit.report(self.kind, {
    title = "Capabilities",
    summary = string.format("%d skills provide %d capabilities; %d agents; %d needs unmet", #skills, #caps, agents, #findings),
    findings = findings,
    tables = {
      {title = "Skills", header = {"Skill", "Version", "Provides", "Requires", "Manifest"}, rows = skills},
      {title = "Capabilities", header = {"Capability", "Provided by"}, rows = caps},
    },
    stats = {skills = #skills, capabilities = #caps, agents = agents, unmet = #findings},
  }, counts)
end)
