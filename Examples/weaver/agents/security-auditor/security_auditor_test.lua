local audit = use("audit@1")

describe("security-auditor", function()
  it("finds nothing in a clean tree", function()
    local report = ask("security-auditor", audit.task("fixture"))
    assert.same({}, report.findings)
    assert.equals("0 committed secrets, 0 dangerous calls", report.summary)
  end)

  it("votes for the most severe candidate", function()
    local choice = ask("security-auditor", {op = "vote", candidates = {
      {id = "a/x", agent = "a", severity = "low", count = 9},
      {id = "b/y", agent = "b", severity = "high", count = 1},
    }})
    assert.equals("b/y", choice)
  end)
end)
