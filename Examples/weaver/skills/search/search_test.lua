local search = use("search@1")

describe("search.basic", function()
  it("finds documents by substring, ignoring case", function()
    assert.same({1, 3}, search.find({"Loom", "cloth", "a loom"}, "LOOM"))
  end)
end)
