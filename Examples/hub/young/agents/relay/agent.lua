-- Asks the parent node's relay, in another process, through the hub.
function on_task(task)
  local answer, err = ask("middle/relay", task .. " -> young/relay", {timeout = 10})
  if not answer then error("middle/relay: " .. err) end
  return answer
end
