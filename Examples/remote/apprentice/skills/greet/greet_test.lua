local greet = use("greet@1")

describe("greet.eager", function()
  it("shouts the inherited greeting", function()
    assert.equals("GOOD DAY, BOB.!", greet.hello("Bob"))
  end)
end)
