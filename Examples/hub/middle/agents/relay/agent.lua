-- Asks the elder's sage, in another process, through the hub.
function on_task(task)
  local answer, err = ask("elder/sage", task .. " -> middle/relay", {timeout = 10})
  if not answer then error("elder/sage: " .. err) end
  return answer
end
