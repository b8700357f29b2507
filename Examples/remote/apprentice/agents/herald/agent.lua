-- herald: greets the name it is given, with the node's greet@1.
local greet = use("greet@1")

function on_task(name)
  return greet.hello(tostring(name))
end
