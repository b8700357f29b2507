-- skeptic: says yes only to proposals that mention a test.
function on_task(proposal)
  return proposal:lower():find("test", 1, true) and "yes" or "no"
end
