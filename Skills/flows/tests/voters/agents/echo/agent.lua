function on_task(task) return task end
