-- security-auditor: committed secrets (private keys, cloud keys, tokens, passwords in
-- configuration) and dangerous calls, per language. Patterns are built from pieces so that this
-- file does not report itself.
local audit = use("audit@1")

local UPPER_DIGIT = "[%dA-Z]"
local TOKEN_CHAR = "[%w]"

local SECRETS = {
  {rule = "secret.private-key", severity = "critical", message = "a private key",
   pattern = "%-%-%-%-%-BEGIN [%u ]*PRIV" .. "ATE KEY%-%-%-%-%-"},
  {rule = "secret.aws-access-key", severity = "critical", message = "an AWS access key id",
   pattern = "%f[%w]" .. "AK" .. "IA" .. string.rep(UPPER_DIGIT, 16) .. "%f[%W]"},
  {rule = "secret.github-token", severity = "critical", message = "a GitHub token",
   pattern = "%f[%w]gh[pousr]_" .. string.rep(TOKEN_CHAR, 36)},
  {rule = "secret.slack-token", severity = "critical", message = "a Slack token",
   pattern = "%f[%w]xox[bpars]%-" .. string.rep("[%w%-]", 10)},
}

-- Configuration files, where `password = "..."` is a committed password.
local CONFIG = {toml = true, yml = true, yaml = true, json = true, ini = true, cfg = true, conf = true,
                properties = true, env = true}
local PASSWORD_KEYS = {"password", "passwd", "pwd", "secret", "api_key", "apikey", "access_token", "auth_token"}

local function call(name) return "%f[%w_.]" .. name:gsub("%.", "%%.") .. "%s*%(" end

local DANGEROUS = {
  C = {{"gets", "gets() cannot bound its input"}, {"strcpy", "strcpy() does not bound the copy"},
       {"strcat", "strcat() does not bound the copy"}, {"sprintf", "sprintf() does not bound its output; use snprintf"},
       {"system", "system() runs a shell command"}},
  Swift = {{"unsafeBitCast", "unsafeBitCast defeats type safety"}, {"system", "system() runs a shell command"},
           {"dlopen", "dlopen loads code at run time"}},
  Lua = {{"os.execute", "os.execute runs a shell command"}, {"io.popen", "io.popen runs a shell command"},
         {"loadstring", "loadstring compiles code at run time"}, {"dofile", "dofile runs a file as code"}},
  Python = {{"eval", "eval() runs arbitrary code"}, {"exec", "exec() runs arbitrary code"},
            {"pickle.loads", "unpickling runs arbitrary code"}, {"os.system", "os.system() runs a shell command"},
            {"yaml.load", "yaml.load() can build arbitrary objects; use safe_load"}},
  JavaScript = {{"eval", "eval() runs arbitrary code"}, {"child_process.exec", "exec runs a shell command"}},
  Go = {},
  Shell = {},
}
DANGEROUS["C++"] = DANGEROUS.C
DANGEROUS["Objective-C"] = DANGEROUS.C
DANGEROUS.TypeScript = DANGEROUS.JavaScript

local COMMENT = {"^%s*//", "^%s*/?%*", "^%s*%-%-", "^%s*#"}

local function is_comment(line)
  for _, p in ipairs(COMMENT) do if line:find(p) then return true end end
  return false
end

local function analyse(path, text)
  local out = {}
  local lang = audit.language(path)
  local ext = audit.extension(path)
  local config = CONFIG[ext] or audit.basename(path) == ".env"
  local calls = DANGEROUS[lang] or {}
  for n, line in ipairs(audit.lines(text)) do
    for _, s in ipairs(SECRETS) do
      if line:find(s.pattern) then out[#out + 1] = {s.severity, s.rule, n, s.message .. " is committed"} end
    end
    if config then
      local lower = line:lower()
      for _, key in ipairs(PASSWORD_KEYS) do
        local value = lower:match("^%s*[\"']?" .. key .. "[\"']?%s*[:=]%s*[\"']?([^\"'%s,]*)")
        if value and #value >= 4 and not value:match("^[%$<{%%]") then
          out[#out + 1] = {"high", "secret.password", n, "a " .. key .. " is set in a configuration file"}
          break
        end
      end
    end
    if #calls > 0 and not is_comment(line) then
      local code = line:gsub('"[^"]*"', '""'):gsub("'[^']*'", "''")
      for _, c in ipairs(calls) do
        if code:find(call(c[1])) then out[#out + 1] = {"medium", "dangerous-call", n, c[2]} end
      end
      if lang == "Shell" and code:find("curl[^|]*|%s*s?u?d?o?%s*[bz]?a?sh%f[%W]") then
        out[#out + 1] = {"medium", "dangerous-call", n, "a downloaded script is piped into a shell"}
      end
    end
  end
  return out
end

on_task = audit.auditor(self.kind, function(task)
  local results, counts = audit.each_file(task, self.kind, audit.all, analyse)
  local findings, secrets, calls = {}, 0, 0
  for _, f in ipairs(audit.files(task)) do
    for _, x in ipairs(results[f.path] or {}) do
      findings[#findings + 1] = audit.finding(x[1], x[2], audit.relative(f.path), x[3], x[4])
      if x[2] == "dangerous-call" then calls = calls + 1 else secrets = secrets + 1 end
    end
  end
  return audit.report(self.kind, {
    title = "Security",
    summary = string.format("%d committed secrets, %d dangerous calls", secrets, calls),
    findings = findings,
    stats = {secrets = secrets, dangerous_calls = calls},
  }, counts)
end)
