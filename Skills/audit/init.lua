-- audit@1: what the Everything Audit's agents share.
--
-- An auditor is asked {op = "audit", root, files = {{path, size, hash}, ...}} and replies with a
-- report (see M.report); asked {op = "vote", candidates = {...}} it replies with the id of the
-- candidate it votes for. M.each_file runs an analysis over the files and remembers each file's
-- result in the agent's own memory under the file's content hash, so an unchanged file is never
-- analysed twice.
local M = {}

-- Languages -----------------------------------------------------------------------------------

local LANGUAGES = {
  swift = "Swift", c = "C", h = "C", cc = "C++", cpp = "C++", cxx = "C++", hpp = "C++", hh = "C++",
  m = "Objective-C", mm = "Objective-C", lua = "Lua", py = "Python", js = "JavaScript", mjs = "JavaScript",
  cjs = "JavaScript", jsx = "JavaScript", ts = "TypeScript", tsx = "TypeScript", go = "Go", rs = "Rust",
  java = "Java", kt = "Kotlin", rb = "Ruby", php = "PHP", sh = "Shell", bash = "Shell", zsh = "Shell",
  cs = "C#", scala = "Scala", md = "Markdown", markdown = "Markdown", toml = "TOML", yml = "YAML",
  yaml = "YAML", json = "JSON", html = "HTML", css = "CSS", sql = "SQL", txt = "Text", xml = "XML",
}
local CODE = {
  Swift = true, C = true, ["C++"] = true, ["Objective-C"] = true, Lua = true, Python = true,
  JavaScript = true, TypeScript = true, Go = true, Rust = true, Java = true, Kotlin = true, Ruby = true,
  PHP = true, Shell = true, ["C#"] = true, Scala = true,
}

--- The file name of a path.
function M.basename(path) return path:match("([^/]*)$") end

--- The folder of a path ("" at the top).
function M.dirname(path) return path:match("^(.*)/[^/]*$") or "" end

--- The lower-case extension of a path, or "".
function M.extension(path)
  local ext = M.basename(path):match("^.+%.([%w]+)$")
  return ext and ext:lower() or ""
end

--- The language of a file, by its name.
function M.language(path)
  local name = M.basename(path)
  if name == "Makefile" then return "Make" end
  if name == "Dockerfile" then return "Docker" end
  return LANGUAGES[M.extension(path)] or "Other"
end

--- Selects every file (for M.each_file).
function M.all() return true end

--- Whether a path is a Loom manifest of a skill or an agent.
function M.is_manifest(path)
  local name = M.basename(path)
  return name == "skill.toml" or name == "agent.toml"
end

--- Whether a file holds program code (as opposed to docs, data or configuration).
function M.is_code(path) return CODE[M.language(path)] == true end

--- A path without its root ("tree/Sources/a.swift" -> "Sources/a.swift").
function M.relative(path) return path:match("^[^/]+/(.*)$") or path end

--- Whether content looks like text: no NUL byte in its first 8 KB.
function M.is_text(content) return not content:sub(1, 8192):find("\0", 1, true) end

--- The lines of a text, without their terminators.
function M.lines(text)
  local out, n = {}, 0
  if text:sub(-1) ~= "\n" then text = text .. "\n" end
  for line in text:gmatch("([^\n]*)\n") do
    n = n + 1
    out[n] = line:sub(-1) == "\r" and line:sub(1, -2) or line
  end
  return out
end

--- A 64-bit FNV-1a hash of a string, as a Lua integer.
function M.hash(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s, 64 do
    local bytes = {s:byte(i, i + 63)}
    for j = 1, #bytes do h = (h ~ bytes[j]) * 1099511628211 end
  end
  return h
end

-- Serialization (the memory of per-file results) -------------------------------------------------

local function encode(v, out)
  local t = type(v)
  if t == "string" or t == "number" then
    out[#out + 1] = string.format("%q", v)
  elseif t == "boolean" or t == "nil" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    out[#out + 1] = "{"
    local n = #v
    for i = 1, n do encode(v[i], out); out[#out + 1] = "," end
    local keys = {}
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do
      out[#out + 1] = "["; encode(k, out); out[#out + 1] = "]="; encode(v[k], out); out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  else
    error("audit.encode: a " .. t .. " cannot be stored", 3)
  end
end

--- A deterministic Lua literal for a value of strings, numbers, booleans and tables.
function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

--- The value of a literal made by M.encode; nil when it does not parse.
function M.decode(text)
  local chunk = load("return " .. text, "=memory", "t", {})
  if not chunk then return nil end
  local ok, v = pcall(chunk)
  if ok then return v end
  return nil
end

-- JSON ------------------------------------------------------------------------------------------

local ESCAPES = {['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}

local function json(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = '"' .. v:gsub('[%c"\\]', function(c)
      return ESCAPES[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    elseif math.type(v) == "integer" then out[#out + 1] = tostring(v)
    else out[#out + 1] = string.format("%.6g", v) end
  elseif t == "boolean" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    if next(v) == nil or #v > 0 then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then out[#out + 1] = "," end
        json(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        json(k, out); out[#out + 1] = ":"; json(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    out[#out + 1] = "null"
  end
end

--- JSON text for a value: tables with a sequence (or empty) are arrays, others objects with
--- sorted keys.
function M.json(v)
  local out = {}
  json(v, out)
  return table.concat(out)
end

-- Findings and reports --------------------------------------------------------------------------

M.SEVERITY = {critical = 5, high = 4, medium = 3, low = 2, info = 1}

--- A finding: {severity, rule, file, line, message}. `file` is relative to the tree.
function M.finding(severity, rule, file, line, message)
  assert(M.SEVERITY[severity], "unknown severity " .. tostring(severity))
  return {severity = severity, rule = rule, file = file, line = line, message = message}
end

local function finding_order(a, b)
  local sa, sb = M.SEVERITY[a.severity], M.SEVERITY[b.severity]
  if sa ~= sb then return sa > sb end
  if (a.file or "") ~= (b.file or "") then return (a.file or "") < (b.file or "") end
  if (a.line or 0) ~= (b.line or 0) then return (a.line or 0) < (b.line or 0) end
  if a.rule ~= b.rule then return a.rule < b.rule end
  return a.message < b.message
end

--- An auditor's reply: findings sorted (severity, file, line), counts by severity, and the
--- file-loop counts. `r` holds title, summary, findings, and optionally tables
--- ({title, header, rows}) and stats.
function M.report(agent, r, counts)
  local findings = r.findings or {}
  table.sort(findings, finding_order)
  local by = {critical = 0, high = 0, medium = 0, low = 0, info = 0}
  for _, f in ipairs(findings) do by[f.severity] = by[f.severity] + 1 end
  return {
    agent = agent, title = r.title, summary = r.summary, findings = findings, severity = by,
    tables = r.tables or {}, stats = r.stats or {},
    analysed = counts and counts.analysed or 0, reused = counts and counts.reused or 0,
    skipped = counts and counts.skipped or 0, files = counts and counts.total or 0,
  }
end

-- The file loop ---------------------------------------------------------------------------------

local function progress(agent, counts, done)
  send("$host", {event = "progress", agent = agent, done = done, total = counts.total,
                 analysed = counts.analysed, reused = counts.reused})
end

--- Runs `analyse(path, text, entry)` over the task's files that `select(path, entry)` accepts,
--- reusing the result remembered for the same content hash. A file that cannot be read, or is not
--- text, gets {skipped = reason}. Yields now and then so the other auditors run too, and reports
--- progress to the host. Returns path -> result, and {total, analysed, reused, skipped}.
function M.each_file(task, agent, select, analyse)
  local files = {}
  for _, f in ipairs(task.files or {}) do
    if select(f.path, f) then files[#files + 1] = f end
  end
  local results = {}
  local counts = {total = #files, analysed = 0, reused = 0, skipped = 0}
  progress(agent, counts, 0)
  local slice = now()
  for i, f in ipairs(files) do
    local key = f.hash and ("audit." .. agent .. "." .. f.hash .. "." .. M.basename(f.path))
    local result
    if key and task.reuse ~= false then
      local known = memory.lessons(key).worked[1]
      if known then result = M.decode(known.text) end
    end
    if result ~= nil then
      counts.reused = counts.reused + 1
    else
      local text, err = fs.read(f.path)
      if not text then
        result = {skipped = err}
        counts.skipped = counts.skipped + 1
      elseif not M.is_text(text) then
        result = {skipped = "binary"}
        counts.skipped = counts.skipped + 1
      else
        result = analyse(f.path, text, f)
        counts.analysed = counts.analysed + 1
        if key then
          local stored = M.encode(result)
          if #stored <= 60000 then memory.learn(key, "worked", stored) end
        end
      end
    end
    results[f.path] = result
    if now() - slice > 0.02 then
      progress(agent, counts, i)
      sleep(0)
      slice = now()
    end
  end
  progress(agent, counts, #files)
  return results, counts
end

--- The files under `root` (an fs.read@1 path) with their content hashes: what an audit task
--- carries. Yields every 20 ms; `report(done, total)` is told how far it is.
function M.inventory(root, report)
  local listed, err = fs.list(root)
  if not listed then error("cannot list " .. root .. ": " .. tostring(err), 2) end
  local files = {}
  local slice = now()
  for i, e in ipairs(listed) do
    files[#files + 1] = {path = e.path, size = e.size, hash = fs.hash(e.path)}
    if now() - slice > 0.02 then
      if report then report(i, #listed) end
      sleep(0)
      slice = now()
    end
  end
  return files
end

--- An audit task for the files under `root`.
function M.task(root)
  return {op = "audit", root = root, files = M.inventory(root)}
end

--- The files of a task in path order, each {path, size, hash}.
function M.files(task)
  return task.files or {}
end

-- The priority vote -----------------------------------------------------------------------------

--- The candidate an auditor votes for: the most severe, then the most widespread, with a
--- preference for its own domain; ties go to the smaller id.
function M.choose(candidates, me)
  local best, best_score
  for _, c in ipairs(candidates) do
    local score = (M.SEVERITY[c.severity] or 1) * 10 + math.min(c.count, 50) / 10 + (c.agent == me and 5 or 0)
    if best == nil or score > best_score or (score == best_score and c.id < best) then
      best, best_score = c.id, score
    end
  end
  return best
end

--- The on_task handler of an auditor: votes when asked to, audits otherwise.
function M.auditor(agent, audit)
  return function(task)
    if type(task) ~= "table" then error("an auditor takes a table task ({op = 'audit', files = ...})") end
    if task.op == "vote" then return M.choose(task.candidates or {}, agent) end
    return audit(task)
  end
end

-- Tiny TOML (the subset Loom manifests use) -----------------------------------------------------

--- Parses `key = "string" | number | true/false | ["a", "b"]` lines and `[section]` headers.
--- Returns a table (sections as nested tables) and the line of each top-level key.
function M.toml(text)
  local out, lines, section = {}, {}, nil
  local n = 0
  for _, line in ipairs(M.lines(text)) do
    n = n + 1
    local s = line:gsub("^%s+", "")
    local blank = s == "" or s:sub(1, 1) == "#"
    if not blank and s:match("^%[") then
      local name = s:match("^%[([%w_%.%-]+)%]")
      if name then
        section = {}
        out[name] = section
      end
    elseif not blank then
      local key, value = s:match('^([%w_%-]+)%s*=%s*(.-)%s*$')
      if key then
        local v
        if value:match('^"') then
          v = value:match('^"(.-)"')
        elseif value:match("^%[") then
          v = {}
          for item in value:gmatch('"([^"]*)"') do v[#v + 1] = item end
        elseif value == "true" or value == "false" then
          v = value == "true"
        else
          v = tonumber(value) or value
        end
        if section then section[key] = v else out[key] = v; lines[key] = n end
      end
    end
  end
  return out, lines
end

return M
