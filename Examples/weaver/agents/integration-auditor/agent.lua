-- integration-auditor: relative links in Markdown that lead nowhere, and files that Loom
-- manifests reference (a skill's entry, an agent's behaviour) but that are missing.
local audit = use("audit@1")
local fs = use("fs.read@1")

local function selected(path)
  local ext = audit.extension(path)
  return ext == "md" or ext == "markdown" or audit.is_manifest(path)
end

local function analyse(path, text)
  local refs = {}
  if audit.is_manifest(path) then
    local t, lines = audit.toml(text)
    if audit.basename(path) == "skill.toml" then
      refs[#refs + 1] = {lines.entry or 0, type(t.entry) == "string" and t.entry or "init.lua", "manifest"}
    else
      refs[#refs + 1] = {lines.behaviour or 0, type(t.behaviour) == "string" and t.behaviour or "agent.lua", "manifest"}
    end
    return refs
  end
  local fenced = false
  for n, line in ipairs(audit.lines(text)) do
    if line:match("^%s*```") or line:match("^%s*~~~") then
      fenced = not fenced
    elseif not fenced then
      local plain = line:gsub("`[^`]*`", "")
      for target in plain:gmatch("%]%(%s*<?([^%s%)>]+)>?[^%)]*%)") do
        if not (target:match("^%a[%w+.-]*:") or target:match("^#") or target:match("^//")) then
          refs[#refs + 1] = {n, target, "link"}
        end
      end
    end
  end
  return refs
end

-- `base/target` with `.` and `..` resolved; nil when it climbs above the tree.
local function join(base, target)
  local parts = {}
  local path = target:sub(1, 1) == "/" and target:sub(2) or (base == "" and target or base .. "/" .. target)
  for part in path:gmatch("[^/]+") do
    if part == ".." then
      if #parts == 0 then return nil end
      parts[#parts] = nil
    elseif part ~= "." then
      parts[#parts + 1] = part
    end
  end
  return table.concat(parts, "/")
end

on_task = audit.auditor(self.kind, function(task)
  local root = task.root or "tree"
  local results, counts = audit.each_file(task, self.kind, selected, analyse)
  local findings, checked, broken = {}, 0, 0
  for _, f in ipairs(audit.files(task)) do
    local file = audit.relative(f.path)
    for _, ref in ipairs(results[f.path] or {}) do
      local line, target, kind = ref[1], ref[2], ref[3]
      local clean = target:gsub("[#?].*$", "")
      if clean ~= "" then
        checked = checked + 1
        local resolved = join(audit.dirname(file), clean)
        local exists = resolved ~= nil and fs.stat(resolved == "" and root or root .. "/" .. resolved) ~= nil
        if not exists then
          broken = broken + 1
          if kind == "link" then
            findings[#findings + 1] = audit.finding("medium", "links.broken", file, line,
              resolved and ("the link to '" .. target .. "' leads nowhere") or ("the link to '" .. target .. "' leaves the tree"))
          else
            findings[#findings + 1] = audit.finding("high", "files.missing", file, line,
              "references '" .. target .. "', which is missing")
          end
        end
      end
    end
  end
  return audit.report(self.kind, {
    title = "Integration",
    summary = string.format("%d references checked, %d broken", checked, broken),
    findings = findings,
    stats = {checked = checked, broken = broken},
  }, counts)
end)
