-- luacheck configuration for Loom's Lua: Lua 5.4 and the host API (docs/lua-api.md).
-- `loom init` writes the same file into new nodes.
std = "lua54"
max_line_length = 140
-- Behaviours define their handlers as globals; the host provides the rest.
globals = {"on_task", "on_message", "on_start", "migrate", "version", "state"}
read_globals = {
  "self", "send", "ask", "ask_all", "sleep", "now", "use", "log", "memory", "fs", "super",
  "describe", "it", "pending", "before_each", "after_each", "assert",
}
exclude_files = {"**/.loom/**", ".build*/**"}
