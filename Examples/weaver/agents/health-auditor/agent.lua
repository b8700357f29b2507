-- health-auditor: TODO, FIXME and HACK markers (a marker followed by a colon or by "(name):"),
-- lines longer than 120 characters in code, and files whose size is an outlier (over 300 lines
-- and more than three standard deviations above the mean of the tree's code files).
local audit = use("audit@1")

local MARKERS = {{"TO" .. "DO", "info"}, {"FIX" .. "ME", "low"}, {"HA" .. "CK", "low"}}
local LONG_LINE = 120

local function analyse(path, text)
  local out = {markers = {}, long = 0, first_long = nil, lines = 0}
  local code = audit.is_code(path)
  for n, line in ipairs(audit.lines(text)) do
    out.lines = n
    for i, m in ipairs(MARKERS) do
      if line:find("%f[%w]" .. m[1] .. "%f[%W]%s*%b()%s*:") or line:find("%f[%w]" .. m[1] .. "%f[%W]%s*:") then
        out.markers[#out.markers + 1] = {n, i, (line:gsub("^%s+", ""):sub(1, 100))}
      end
    end
    if code and (utf8.len(line) or #line) > LONG_LINE then
      out.long = out.long + 1
      out.first_long = out.first_long or n
    end
  end
  return out
end

on_task = audit.auditor(self.kind, function(task)
  local results, counts = audit.each_file(task, self.kind, audit.all, analyse)
  local findings, tally = {}, {0, 0, 0}
  local long_lines, sizes = 0, {}
  for _, f in ipairs(audit.files(task)) do
    local r = results[f.path]
    if r and r.markers then
      local file = audit.relative(f.path)
      for _, m in ipairs(r.markers) do
        tally[m[2]] = tally[m[2]] + 1
        findings[#findings + 1] = audit.finding(MARKERS[m[2]][2], "marker." .. MARKERS[m[2]][1]:lower(), file, m[1], m[3])
      end
      if r.long > 0 then
        long_lines = long_lines + r.long
        findings[#findings + 1] = audit.finding("info", "long-lines", file, r.first_long,
          string.format("%d lines longer than %d characters", r.long, LONG_LINE))
      end
      if audit.is_code(f.path) then sizes[#sizes + 1] = {file, r.lines} end
    end
  end
  local mean, sd = 0, 0
  for _, s in ipairs(sizes) do mean = mean + s[2] end
  mean = #sizes > 0 and mean / #sizes or 0
  for _, s in ipairs(sizes) do sd = sd + (s[2] - mean) ^ 2 end
  sd = #sizes > 1 and math.sqrt(sd / (#sizes - 1)) or 0
  local outliers = 0
  for _, s in ipairs(sizes) do
    if s[2] > 300 and sd > 0 and s[2] > mean + 3 * sd then
      outliers = outliers + 1
      findings[#findings + 1] = audit.finding("low", "size-outlier", s[1], 1,
        string.format("%d lines, against a mean of %.0f (sd %.0f)", s[2], mean, sd))
    end
  end
  return audit.report(self.kind, {
    title = "Health",
    summary = string.format("%d TODO, %d FIXME, %d HACK; %d long lines; %d size outliers",
                            tally[1], tally[2], tally[3], long_lines, outliers),
    findings = findings,
    stats = {todo = tally[1], fixme = tally[2], hack = tally[3], long_lines = long_lines, outliers = outliers},
  }, counts)
end)
