local audit = use("audit@1")

describe("doc-synthesizer", function()
  it("finds the undocumented module functions", function()
    local report = ask("doc-synthesizer", audit.task("fixture"))
    local places = {}
    for _, f in ipairs(report.findings) do places[#places + 1] = f.rule .. " " .. f.file .. ":" .. f.line end
    assert.same({"docs.undocumented src/copy.lua:10", "docs.undocumented src/util.lua:10"}, places)
    assert.equals(true, report.stats.readme)
    assert.equals(4, report.stats.declarations)
  end)
end)
