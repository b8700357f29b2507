-- flows@1: coordination patterns written on top of ask and ask_all.
-- Every function must be called from an agent's handler (they wait for replies).
local M = {}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

--- Asks every agent the same task at once.
--- Returns a list, in the order of `agents`, of {agent, ok, value, error}.
---@param agents string[] addresses
---@param task any
---@param opts? {timeout: number}
function M.parallel(agents, task, opts)
  local requests = {}
  for i, a in ipairs(agents) do requests[i] = {to = a, task = task} end
  local replies = ask_all(requests, {timeout = opts and opts.timeout})
  local out = {}
  for i, a in ipairs(agents) do
    local r = replies[i] or {ok = false, error = "no reply"}
    out[i] = {agent = a, ok = r.ok, value = r.value, error = r.error}
  end
  return out
end

--- Passes `input` through each stage in turn: an agent address (asked) or a function (called).
--- Returns the last value, or nil and an error naming the stage that failed.
---@param stages (string|function)[]
function M.pipeline(stages, input)
  local value = input
  for i, stage in ipairs(stages) do
    if type(stage) == "function" then
      value = stage(value)
    else
      local result, err = ask(stage, value)
      if result == nil and err ~= nil then
        return nil, string.format("stage %d (%s) failed: %s", i, stage, err)
      end
      value = result
    end
  end
  return value
end

--- Asks every agent to vote on `proposal`; each replies with its choice (a string, number or boolean).
--- opts.quorum: the share of the total weight that must vote (default 0.5); opts.weights: agent ->
--- weight (default 1); opts.tie: "none" (default: no decision), "first" (the first choice in sorted
--- order), or an agent address whose vote breaks the tie; opts.timeout.
--- Returns {decision, tally, votes, turnout, quorum, quorum_met, reason}.
function M.vote(agents, proposal, opts)
  opts = opts or {}
  local weights = opts.weights or {}
  local quorum = opts.quorum or 0.5
  local total, cast = 0, 0
  local tally, votes, errors = {}, {}, {}
  local replies = M.parallel(agents, proposal, opts)
  for _, r in ipairs(replies) do
    local w = weights[r.agent] or 1
    total = total + w
    if r.ok and r.value ~= nil then
      votes[r.agent] = r.value
      tally[r.value] = (tally[r.value] or 0) + w
      cast = cast + w
    else
      errors[r.agent] = r.error or "abstained"
    end
  end
  local result = {tally = tally, votes = votes, errors = errors, turnout = total > 0 and cast / total or 0,
                  quorum = quorum}
  result.quorum_met = total > 0 and cast / total >= quorum
  if not result.quorum_met then
    result.reason = string.format("quorum not met: %.0f%% of the weight voted, %.0f%% needed",
                                  result.turnout * 100, quorum * 100)
    return result
  end
  local best, leaders = -math.huge, {}
  for _, choice in ipairs(sorted_keys(tally)) do
    local w = tally[choice]
    if w > best then best, leaders = w, {choice} elseif w == best then leaders[#leaders + 1] = choice end
  end
  if #leaders == 1 then
    result.decision = leaders[1]
    result.reason = "majority"
  else
    result.tied = leaders
    local tie = opts.tie or "none"
    if tie == "first" then
      result.decision = leaders[1]
      result.reason = "tie broken by order"
    elseif tie ~= "none" and votes[tie] ~= nil then
      for _, choice in ipairs(leaders) do
        if choice == votes[tie] then result.decision = choice end
      end
      result.reason = result.decision ~= nil and ("tie broken by " .. tie) or "tie: the tie-breaker voted for neither"
    else
      result.reason = "tie"
    end
  end
  return result
end

--- A debate: each round every agent answers {question, round, transcript}; the transcript grows
--- with each answer; then the judge is asked {question, transcript} for the verdict.
--- opts.rounds (default 2), opts.judge (an address; without one the verdict is nil), opts.timeout.
--- Returns {verdict, transcript, error}.
function M.debate(agents, question, opts)
  opts = opts or {}
  local transcript = {}
  for round = 1, opts.rounds or 2 do
    local replies = M.parallel(agents, {question = question, round = round, transcript = transcript}, opts)
    for _, r in ipairs(replies) do
      transcript[#transcript + 1] = {round = round, agent = r.agent, said = r.value, error = r.error}
    end
  end
  local out = {transcript = transcript}
  if opts.judge then
    local verdict, err = ask(opts.judge, {question = question, transcript = transcript}, {timeout = opts.timeout})
    out.verdict, out.error = verdict, err
  end
  return out
end

return M
