-- pragmatist: says no to rewrites, yes otherwise; remembers how often it was asked.
function on_task(proposal)
  state.asked = (state.asked or 0) + 1
  return proposal:lower():find("rewrite", 1, true) and "no" or "yes"
end
