-- result-synthesizer: runs the Everything Audit. It lists the tree once (with content hashes),
-- asks every auditor at once through flows.parallel, gathers the findings, has the auditors
-- agree on the top ten priorities through flows.vote (ten rounds, each electing one), and
-- returns the master action plan as Markdown and JSON for the host to write.
local audit = use("audit@1")
local flows = use("flows@1")

local AUDITORS = {
  "code-archaeologist", "pattern-detector", "security-auditor", "doc-synthesizer", "integration-auditor",
  "agent-architect", "capability-curator", "performance-optimizer", "test-architect", "health-auditor",
}

local RULE_TITLES = {
  ["secret.private-key"] = "Remove committed private keys and rotate them",
  ["secret.aws-access-key"] = "Remove committed AWS keys and rotate them",
  ["secret.github-token"] = "Revoke committed GitHub tokens",
  ["secret.slack-token"] = "Revoke committed Slack tokens",
  ["secret.password"] = "Move passwords out of committed configuration",
  ["dangerous-call"] = "Replace dangerous calls",
  ["duplicate-block"] = "Factor out duplicated code",
  ["docs.no-readme"] = "Write a README",
  ["docs.no-docs-folder"] = "Start a docs/ folder",
  ["docs.undocumented"] = "Document public declarations",
  ["links.broken"] = "Fix broken links in the docs",
  ["files.missing"] = "Restore files that manifests reference",
  ["manifest.below-threshold"] = "Bring Loom manifests up to the bar",
  ["capability.unprovided"] = "Provide the capabilities that are needed",
  ["long-function"] = "Split very long functions",
  ["deep-nesting"] = "Flatten deeply nested code",
  ["large-file"] = "Split large files",
  ["tests.missing"] = "Add tests to untested modules",
  ["marker.todo"] = "Work off TODO markers",
  ["marker.fixme"] = "Fix what FIXME markers point at",
  ["marker.hack"] = "Replace HACKs with real solutions",
  ["long-lines"] = "Wrap long lines",
  ["size-outlier"] = "Look into files far larger than the rest",
}

local function progress(event)
  event.agent = self.kind
  send("$host", event)
end

-- Findings grouped by (auditor, rule): the candidates for the top ten.
local function candidates(reports)
  local groups, list = {}, {}
  for _, r in ipairs(reports) do
    for _, f in ipairs(r.findings) do
      local id = r.agent .. "/" .. f.rule
      local g = groups[id]
      if not g then
        g = {id = id, agent = r.agent, rule = f.rule, title = RULE_TITLES[f.rule] or f.rule, severity = f.severity,
             count = 0, example = f}
        groups[id] = g
        list[#list + 1] = g
      end
      g.count = g.count + 1
      if audit.SEVERITY[f.severity] > audit.SEVERITY[g.severity] then g.severity, g.example = f.severity, f end
    end
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

local function elect(list, timeout)
  local top = {}
  local remaining = {}
  for _, c in ipairs(list) do
    remaining[#remaining + 1] = {id = c.id, agent = c.agent, severity = c.severity, count = c.count}
  end
  local by_id = {}
  for _, c in ipairs(list) do by_id[c.id] = c end
  for round = 1, 10 do
    if #remaining == 0 then break end
    local result = flows.vote(AUDITORS, {op = "vote", candidates = remaining}, {quorum = 0.5, tie = "first", timeout = timeout})
    if not result.decision then
      top.failure = result.reason
      break
    end
    local c = by_id[result.decision]
    top[#top + 1] = {rank = round, id = c.id, title = c.title, agent = c.agent, severity = c.severity, count = c.count,
                     votes = result.tally[result.decision], turnout = result.turnout, example = c.example}
    for i, r in ipairs(remaining) do
      if r.id == result.decision then table.remove(remaining, i) break end
    end
    progress({event = "vote", round = round, decision = result.decision})
  end
  return top
end

local function cell(v) return (tostring(v):gsub("|", "\\|"):gsub("\n", " ")) end

local function markdown(task, reports, failures, top)
  local out = {}
  local function add(s) out[#out + 1] = s end
  add("# Everything Audit: " .. (task.name or task.root or "tree"))
  add("")
  add(string.format("%d auditors ran on %d files. The auditors agreed on the priorities by vote.", #reports, task.file_count))
  add("")
  add("## Summary")
  add("")
  add("| Auditor | Critical | High | Medium | Low | Info | Files | Reused | Summary |")
  add("|---|---:|---:|---:|---:|---:|---:|---:|---|")
  for _, r in ipairs(reports) do
    local s = r.severity
    add(string.format("| %s | %d | %d | %d | %d | %d | %d | %d | %s |", r.agent, s.critical, s.high, s.medium, s.low, s.info,
                      r.files, r.reused, cell(r.summary)))
  end
  for _, f in ipairs(failures) do add(string.format("| %s | - | - | - | - | - | - | - | failed: %s |", f.agent, cell(f.error))) end
  add("")
  add("## Master action plan: the top ten priorities")
  add("")
  if #top == 0 then add("Nothing to do: no auditor found anything that needs action.") end
  local function place(f)
    if f.file == "" then return "the tree" end
    if f.line and f.line > 0 then return f.file .. ":" .. f.line end
    return f.file
  end
  for _, p in ipairs(top) do
    local where = place(p.example)
    add(string.format("%d. **%s** (%s, %d finding%s, %s; %d of %d votes). For example %s: %s", p.rank, p.title, p.severity,
                      p.count, p.count == 1 and "" or "s", p.agent, math.floor(p.votes), #AUDITORS, where, p.example.message))
  end
  if top.failure then add("", "The vote stopped early: " .. top.failure) end
  for _, r in ipairs(reports) do
    add("")
    add("## " .. r.title .. " (" .. r.agent .. ")")
    add("")
    add(r.summary .. ".")
    for _, t in ipairs(r.tables) do
      add("")
      add("**" .. t.title .. "**")
      add("")
      add("| " .. table.concat(t.header, " | ") .. " |")
      local rule = {}
      for i = 1, #t.header do rule[i] = "---" end
      add("|" .. table.concat(rule, "|") .. "|")
      for _, row in ipairs(t.rows) do
        local cells = {}
        for i, v in ipairs(row) do cells[i] = cell(v) end
        add("| " .. table.concat(cells, " | ") .. " |")
      end
    end
    if #r.findings > 0 then
      add("")
      local shown = math.min(#r.findings, 20)
      add(string.format("Findings (%d%s):", #r.findings, shown < #r.findings and ", the first 20 here, all in audit.json" or ""))
      add("")
      for i = 1, shown do
        local f = r.findings[i]
        local where = place(f)
        add(string.format("- %s `%s` %s: %s", f.severity, where, f.rule, f.message))
      end
    end
  end
  add("")
  return table.concat(out, "\n")
end

function on_task(task)
  task = type(task) == "table" and task or {}
  local root = task.root or "tree"
  local timeout = task.timeout or 600
  progress({event = "start", phase = "listing"})
  local files = audit.inventory(root, function(done, total)
    progress({event = "progress", done = done, total = total, phase = "hashing"})
  end)
  progress({event = "done", done = #files, total = #files, phase = "listed"})
  local replies = flows.parallel(AUDITORS, {op = "audit", root = root, files = files, reuse = task.reuse}, {timeout = timeout})
  local reports, failures = {}, {}
  for _, r in ipairs(replies) do
    if r.ok and type(r.value) == "table" then
      reports[#reports + 1] = r.value
    else
      failures[#failures + 1] = {agent = r.agent, error = tostring(r.error)}
      log.error("auditor " .. r.agent .. " failed: " .. tostring(r.error))
    end
  end
  local top = elect(candidates(reports), 60)
  task.file_count = #files
  local summary = {}
  for _, r in ipairs(reports) do
    summary[#summary + 1] = {agent = r.agent, summary = r.summary, findings = #r.findings, files = r.files,
                             analysed = r.analysed, reused = r.reused, severity = r.severity}
  end
  local priorities = {}
  for i, p in ipairs(top) do
    priorities[i] = {rank = p.rank, id = p.id, title = p.title, agent = p.agent, severity = p.severity, count = p.count,
                     votes = p.votes, example = p.example}
  end
  local document = {tree = task.name or root, files = #files, auditors = reports, failures = failures,
                    priorities = priorities}
  return {markdown = markdown(task, reports, failures, top), json = audit.json(document), summary = summary,
          failures = failures, files = #files}
end
