function on_task(task)
  sleep(task.seconds or 1)
  return "late"
end
