local audit = use("audit@1")

describe("audit@1", function()
  it("names languages and tells code from the rest", function()
    assert.equals("Swift", audit.language("Sources/A.swift"))
    assert.equals("Make", audit.language("Makefile"))
    assert.equals("Other", audit.language("LICENSE"))
    assert.truthy(audit.is_code("a/b.lua"))
    assert.falsy(audit.is_code("README.md"))
    assert.equals("Sources/A.swift", audit.relative("tree/Sources/A.swift"))
  end)

  it("splits lines without their terminators", function()
    assert.same({"a", "b", ""}, audit.lines("a\r\nb\n\n"))
    assert.same({"x"}, audit.lines("x"))
  end)

  it("encodes and decodes plain values deterministically", function()
    local v = {1, "two", {three = 3.5, [10] = true}, name = "x\n\"y\""}
    local text = audit.encode(v)
    assert.equals(text, audit.encode(audit.decode(text)))
    assert.same(v, audit.decode(text))
    assert.error(function() audit.encode({f = print}) end, "cannot be stored")
    assert.equals(nil, audit.decode("{"))
  end)

  it("writes JSON with sorted keys", function()
    assert.equals('{"a":[1,2],"b":{"c":"d\\n"},"e":[]}', audit.json({b = {c = "d\n"}, a = {1, 2}, e = {}}))
  end)

  it("hashes strings to stable 64-bit integers", function()
    assert.equals(audit.hash("abc"), audit.hash("abc"))
    assert.truthy(audit.hash("abc") ~= audit.hash("abd"))
    assert.equals(-3750763034362895579, audit.hash(""))
  end)

  it("reads the TOML of manifests", function()
    local t, lines = audit.toml('name = "x"\nprovides = ["a@1", "b@2"]\n[memory]\nweight = 2\n')
    assert.same({name = "x", provides = {"a@1", "b@2"}, memory = {weight = 2}}, t)
    assert.equals(2, lines.provides)
  end)

  it("orders findings and counts severities in a report", function()
    local r = audit.report("me", {title = "T", summary = "s", findings = {
      audit.finding("low", "r", "b", 1, "m"), audit.finding("critical", "r", "a", 2, "m"),
    }})
    assert.equals("critical", r.findings[1].severity)
    assert.equals(1, r.severity.low)
    assert.error(function() audit.finding("urgent", "r", "f", 1, "m") end, "unknown severity")
  end)

  it("votes for the most severe, then the most widespread, then its own", function()
    local c = {
      {id = "a/1", agent = "a", severity = "medium", count = 3},
      {id = "b/1", agent = "b", severity = "medium", count = 3},
    }
    assert.equals("b/1", audit.choose(c, "b"))
    assert.equals("a/1", audit.choose(c, "z"))
  end)
end)
