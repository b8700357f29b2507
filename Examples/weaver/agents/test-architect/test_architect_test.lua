local audit = use("audit@1")

describe("test-architect", function()
  it("reports the modules without tests", function()
    local report = ask("test-architect", audit.task("fixture"))
    local modules = {}
    for _, f in ipairs(report.findings) do modules[#modules + 1] = f.file end
    table.sort(modules)
    assert.same({"skills/hello", "src"}, modules)
  end)
end)
