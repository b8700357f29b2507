-- Needs mentor's bundle installed (scripts/test-lua.sh does it; docs/authoring.md explains).
describe("herald", function()
  it("greets with the mentor's greeting, made eager", function()
    assert.equals("GOOD DAY, ADA.!", ask("herald", "Ada"))
  end)
end)
