local audit = use("audit@1")

describe("pattern-detector", function()
  it("finds the copied module as one duplicated block", function()
    local report = ask("pattern-detector", audit.task("fixture"))
    assert.equals(1, #report.findings)
    local f = report.findings[1]
    assert.equals("duplicate-block", f.rule)
    assert.equals("src/util.lua", f.file)
    assert.matches("lines 1%-14 repeat src/copy.lua:1%-14", f.message)
  end)
end)
