local greet = use("greet@1")

describe("greet", function()
  it("greets politely", function()
    assert.equals("Good day, Ada.", greet.hello("Ada"))
  end)
end)
