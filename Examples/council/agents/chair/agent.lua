-- chair: a task is a proposal (a string). The advisors vote yes or no; the pragmatist's vote
-- weighs double and breaks ties. The count is kept in state, each decision in memory.
local flows = use("flows@1")
local memory = use("memory@1")
local advisors = {"optimist", "skeptic", "pragmatist"}

function on_task(proposal)
  local result = flows.vote(advisors, proposal, {weights = {pragmatist = 2}, tie = "pragmatist", timeout = 2})
  state.decisions = (state.decisions or 0) + 1
  memory.remember(string.format("decided %s on %q (%s)", tostring(result.decision), proposal, result.reason),
                  {task = "decision", tags = {"decision"}, importance = 0.6})
  log.info("decision", state.decisions, "on", proposal, "->", tostring(result.decision))
  local parts = {}
  for _, name in ipairs(advisors) do
    parts[#parts + 1] = string.format("%s=%s", name, tostring(result.votes[name]))
  end
  return string.format("decision #%d on %q: %s (%s; %s)", state.decisions, proposal,
                       tostring(result.decision), result.reason, table.concat(parts, ", "))
end
