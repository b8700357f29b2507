-- optimist: says yes to anything.
function on_task(_proposal) return "yes" end
