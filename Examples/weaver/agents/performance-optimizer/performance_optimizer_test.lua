local audit = use("audit@1")

describe("performance-optimizer", function()
  it("finds no long or deep code in the fixture", function()
    local report = ask("performance-optimizer", audit.task("fixture"))
    assert.same({}, report.findings)
    assert.equals(0, report.stats.long_functions)
  end)
end)
