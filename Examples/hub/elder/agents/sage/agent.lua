-- The end of the chain: answers with where the task has been.
function on_task(task)
  return task .. " -> elder/sage"
end
