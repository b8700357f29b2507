-- finder: on a task {documents = {...}, word = "..."}, returns the matching document numbers.
function on_task(task)
  local search = use("search@1")
  return search.find(task.documents, task.word)
end
