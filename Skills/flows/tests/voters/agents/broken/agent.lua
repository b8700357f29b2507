function on_task() error("this agent always fails") end
