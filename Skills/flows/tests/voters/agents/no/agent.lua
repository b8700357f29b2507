function on_task() return "no" end
