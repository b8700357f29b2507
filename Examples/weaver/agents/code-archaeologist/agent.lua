-- code-archaeologist: an inventory of the tree: languages, files, lines, and the largest modules.
local audit = use("audit@1")

local function analyse(_, text)
  local lines = #audit.lines(text)
  if text == "" then lines = 0 end
  return {lines = lines, bytes = #text}
end

on_task = audit.auditor(self.kind, function(task)
  local results, counts = audit.each_file(task, self.kind, audit.all, analyse)
  local languages, total = {}, {files = 0, lines = 0, bytes = 0, binary = 0}
  local modules = {}
  for _, f in ipairs(audit.files(task)) do
    local r = results[f.path]
    local lang = audit.language(f.path)
    local l = languages[lang] or {files = 0, lines = 0, bytes = 0}
    languages[lang] = l
    l.files = l.files + 1
    total.files = total.files + 1
    l.bytes = l.bytes + f.size
    total.bytes = total.bytes + f.size
    if r and r.lines then
      l.lines = l.lines + r.lines
      total.lines = total.lines + r.lines
      if audit.is_code(f.path) then modules[#modules + 1] = {file = audit.relative(f.path), lines = r.lines} end
    else
      total.binary = total.binary + 1
    end
  end
  local names = {}
  for name in pairs(languages) do names[#names + 1] = name end
  table.sort(names, function(a, b)
    if languages[a].lines ~= languages[b].lines then return languages[a].lines > languages[b].lines end
    return a < b
  end)
  local rows = {}
  for _, name in ipairs(names) do
    local l = languages[name]
    rows[#rows + 1] = {name, l.files, l.lines, l.bytes}
  end
  table.sort(modules, function(a, b)
    if a.lines ~= b.lines then return a.lines > b.lines end
    return a.file < b.file
  end)
  local largest = {}
  for i = 1, math.min(10, #modules) do largest[i] = {modules[i].file, modules[i].lines} end
  return audit.report(self.kind, {
    title = "Inventory",
    summary = string.format("%d files, %d lines in %d languages; %d binary or unreadable",
                            total.files, total.lines, #names, total.binary),
    findings = {},
    tables = {
      {title = "Languages", header = {"Language", "Files", "Lines", "Bytes"}, rows = rows},
      {title = "Largest modules", header = {"File", "Lines"}, rows = largest},
    },
    stats = {files = total.files, lines = total.lines, bytes = total.bytes, languages = #names, binary = total.binary},
  }, counts)
end)
