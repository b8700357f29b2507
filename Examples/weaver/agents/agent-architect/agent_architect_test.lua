local audit = use("audit@1")

describe("agent-architect", function()
  it("scores the fixture skill below the bar", function()
    local report = ask("agent-architect", audit.task("fixture"))
    assert.same({"skills/hello/skill.toml", "skill", 65, "explicit permissions, tests"}, report.tables[1].rows[1])
    assert.equals("manifest.below-threshold", report.findings[1].rule)
  end)
end)
