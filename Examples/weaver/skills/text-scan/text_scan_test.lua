local scan = use("text.scan@1")

describe("text.scan", function()
  it("splits words, lower-cased", function()
    assert.same({"hello", "world", "42"}, scan.words("Hello, World! 42"))
  end)

  it("splits lines", function()
    assert.same({"a", "b", ""}, scan.lines("a\r\nb\n"))
  end)
end)
