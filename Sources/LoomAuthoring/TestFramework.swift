/// The behaviour of the agent `loom test` adds to a node: busted's API (describe, it, pending,
/// before_each, after_each, assert.*) over a test file, which it loads when asked
/// `{op = "load", file, source}` and whose tests it runs one per ask, `{op = "run", index}`, so
/// that each test has a deadline of its own.
enum TestFramework {
    static let source = #"""
    local tests, stack = {}, {}
    local loaded_error

    local function describe_path(name)
      local parts = {}
      for _, frame in ipairs(stack) do parts[#parts + 1] = frame.name end
      parts[#parts + 1] = name
      return table.concat(parts, " › ")
    end

    local function hooks(kind)
      local list = {}
      for _, frame in ipairs(stack) do
        for _, f in ipairs(frame[kind]) do list[#list + 1] = f end
      end
      return list
    end

    local function line_of(level)
      -- The caller's line, from an error message raised at that level.
      local _, message = pcall(error, "@", level + 2)
      return message and message:match(":(%d+): @$") or "?"
    end

    local api = {}

    function api.describe(name, body)
      if type(name) ~= "string" or type(body) ~= "function" then error("describe(name, function)", 2) end
      stack[#stack + 1] = {name = name, before_each = {}, after_each = {}}
      body()
      stack[#stack] = nil
    end

    function api.it(name, body)
      if type(name) ~= "string" or type(body) ~= "function" then error("it(name, function)", 2) end
      tests[#tests + 1] = {name = describe_path(name), body = body, before = hooks("before_each"),
                           after = hooks("after_each"), line = tonumber(line_of(2))}
    end

    function api.pending(name)
      tests[#tests + 1] = {name = describe_path(tostring(name)), pending = true, line = tonumber(line_of(2))}
    end

    function api.before_each(body)
      if not stack[#stack] then error("before_each must be inside describe", 2) end
      table.insert(stack[#stack].before_each, body)
    end

    function api.after_each(body)
      if not stack[#stack] then error("after_each must be inside describe", 2) end
      table.insert(stack[#stack].after_each, body)
    end

    -- Values as Lua literals, tables sorted by key, for failure messages.
    local function show(v, depth)
      depth = depth or 0
      if type(v) == "string" then return string.format("%q", v) end
      if type(v) ~= "table" then return tostring(v) end
      if depth > 3 then return "{...}" end
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      local parts = {}
      for _, k in ipairs(keys) do
        local key = type(k) == "string" and k:match("^[%a_][%w_]*$") and k or "[" .. show(k, depth + 1) .. "]"
        parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1)
      end
      return "{" .. table.concat(parts, ", ") .. "}"
    end

    local function same(a, b)
      if type(a) ~= "table" or type(b) ~= "table" then return a == b end
      for k, v in pairs(a) do if not same(v, b[k]) then return false end end
      for k in pairs(b) do if a[k] == nil then return false end end
      return true
    end

    local function fail(what, expected, actual)
      error(string.format("%s\n    expected: %s\n    actual:   %s", what, show(expected), show(actual)), 3)
    end

    local assertions = {}
    function assertions.equals(expected, actual)
      if expected ~= actual then fail("assert.equals failed", expected, actual) end
    end
    function assertions.same(expected, actual)
      if not same(expected, actual) then fail("assert.same failed", expected, actual) end
    end
    function assertions.truthy(value)
      if not value then fail("assert.truthy failed", "a true value", value) end
    end
    function assertions.falsy(value)
      if value then fail("assert.falsy failed", "nil or false", value) end
    end
    function assertions.error(fn, message)
      local ok, err = pcall(fn)
      if ok then fail("assert.error failed: no error was raised", message or "an error", "no error") end
      if message and not tostring(err):find(message, 1, true) then fail("assert.error failed: another error", message, tostring(err)) end
    end
    function assertions.matches(pattern, text)
      if type(text) ~= "string" or not text:find(pattern) then fail("assert.matches failed", pattern, text) end
    end
    api.assert = setmetatable(assertions, {__call = function(_, v, message, ...)
      if not v then error(message or "assertion failed!", 2) end
      return v, message, ...
    end})

    local function run(index)
      local t = tests[index]
      if t.pending then return {status = "pending"} end
      local failure
      local function step(f)
        if failure then return end
        local ok, err = xpcall(f, __traceback)
        if not ok then failure = err end
      end
      for _, f in ipairs(t.before) do step(f) end
      step(t.body)
      for _, f in ipairs(t.after) do
        local ok, err = xpcall(f, __traceback)
        if not ok and not failure then failure = err end
      end
      if failure then
        local message, trace = tostring(failure):match("^(.-)\nstack traceback:\n(.*)$")
        return {status = "failed", message = message or tostring(failure), traceback = trace or ""}
      end
      return {status = "passed"}
    end

    function on_task(request)
      if request.op == "load" then
        tests, stack = {}, {}
        local env = setmetatable({}, {__index = _ENV})
        for k, v in pairs(api) do env[k] = v end
        local chunk, err = load(request.source, "@" .. request.file, "t", env)
        if not chunk then return {error = err} end
        local ok, problem = xpcall(chunk, __traceback)
        if not ok then return {error = tostring(problem)} end
        local list = {}
        for i, t in ipairs(tests) do list[i] = {name = t.name, line = t.line, pending = t.pending or false} end
        return {tests = list}
      elseif request.op == "run" then
        return run(request.index)
      end
      error("unknown request")
    end
    """#
}
