-- pattern-detector: duplicated blocks of code, found by hashing windows of normalised lines.
-- A line is normalised by trimming it and collapsing its white space; lines shorter than
-- MIN_LINE characters (braces, `end`, blank lines) are left out. Every WINDOW consecutive
-- remaining lines are hashed; a hash seen in two places is duplicated code, and runs of such
-- windows merge into one block.
local audit = use("audit@1")

local WINDOW = 6
local MIN_LINE = 6

local function analyse(_, text)
  local hashes, lines = {}, {}
  for n, line in ipairs(audit.lines(text)) do
    local s = line:gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
    if #s >= MIN_LINE then
      hashes[#hashes + 1] = audit.hash(s:sub(1, 400))
      lines[#lines + 1] = n
    end
  end
  local windows, starts, ends = {}, {}, {}
  for i = 1, #hashes - WINDOW + 1 do
    local h = 0
    for j = i, i + WINDOW - 1 do h = h * 1000003 ~ hashes[j] end
    windows[#windows + 1] = h
    starts[#starts + 1] = lines[i]
    ends[#ends + 1] = lines[i + WINDOW - 1]
  end
  return {w = windows, s = starts, e = ends}
end

on_task = audit.auditor(self.kind, function(task)
  local results, counts = audit.each_file(task, self.kind, audit.is_code, analyse)
  -- The first place each window was seen; later places pair with it.
  local first, pairs_ = {}, {}
  for _, f in ipairs(audit.files(task)) do
    local r = results[f.path]
    if r and r.w then
      for i, h in ipairs(r.w) do
        local seen = first[h]
        if not seen then
          first[h] = {file = f.path, index = i}
        elseif not (seen.file == f.path and i - seen.index < WINDOW) then
          local key = seen.file .. "\0" .. f.path .. "\0" .. (i - seen.index)
          local list = pairs_[key]
          if not list then
            list = {a = seen.file, b = f.path, delta = i - seen.index}
            pairs_[key] = list
          end
          list[#list + 1] = seen.index
        end
      end
    end
  end
  local findings, blocks, duplicated = {}, 0, 0
  local keys = {}
  for k in pairs(pairs_) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local p = pairs_[k]
    table.sort(p)
    local ra, rb = results[p.a], results[p.b]
    local i = 1
    while i <= #p do
      local j = i
      while j < #p and p[j + 1] == p[j] + 1 do j = j + 1 end
      local a1, a2 = ra.s[p[i]], ra.e[p[j]]
      local b1, b2 = rb.s[p[i] + p.delta], rb.e[p[j] + p.delta]
      local size = a2 - a1 + 1
      blocks = blocks + 1
      duplicated = duplicated + size
      findings[#findings + 1] = audit.finding(size >= 30 and "medium" or "low", "duplicate-block",
        audit.relative(p.b), b1,
        string.format("lines %d-%d repeat %s:%d-%d (%d lines)", b1, b2, audit.relative(p.a), a1, a2, size))
      i = j + 1
    end
  end
  return audit.report(self.kind, {
    title = "Duplicated code",
    summary = string.format("%d duplicated blocks, %d lines in all", blocks, duplicated),
    findings = findings,
    stats = {blocks = blocks, lines = duplicated},
  }, counts)
end)
