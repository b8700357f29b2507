-- optimist: says yes to anything.
function on_task(proposal) return "yes" end
