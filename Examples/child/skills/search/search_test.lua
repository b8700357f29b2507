local search = use("search@1")

describe("search.basic in child", function()
  it("delegates to weaver's search through super", function()
    assert.same({2}, search.find({"x", "needle here"}, "Needle"))
    assert.same({}, search.find({"x"}, "y"))
  end)
end)
