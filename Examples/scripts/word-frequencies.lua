-- Counts the words of a text and returns the most frequent ones, with a few statistics.
-- Runs in Loom's sandbox: `loom eval Examples/scripts/word-frequencies.lua`.

local text = [[
Loom hosts civilizations of scripted agents. A running host is a node. A node has an identity,
a lineage, skills, agents and a memory store. Skills are Lua modules; agents are Lua behaviours
with memory of their own. Agents talk by messages, and flows coordinate them: parallel work then
synthesis, votes, pipelines. New agents and changed scripts load while the node runs. Nodes share
skills as signed bundles. No script can harm the host or another skill: every script runs in a
sandbox, under a deadline and a memory cap.
]]

local counts, total = {}, 0
for word in text:lower():gmatch("%a+") do
  if #word > 3 then
    counts[word] = (counts[word] or 0) + 1
    total = total + 1
  end
end

local words = {}
for word, n in pairs(counts) do words[#words + 1] = {word = word, n = n} end
table.sort(words, function(a, b)
  if a.n ~= b.n then return a.n > b.n end
  return a.word < b.word
end)

local top = {}
for i = 1, math.min(5, #words) do top[i] = ("%s=%d"):format(words[i].word, words[i].n) end

return table.concat(top, " "), total, #words
