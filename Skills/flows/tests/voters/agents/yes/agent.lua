function on_task() return "yes" end
