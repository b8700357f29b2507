-- search.basic: which documents contain a word.
local M = {}

function M.find(documents, word)
  local hits = {}
  for i, doc in ipairs(documents) do
    if doc:lower():find(word:lower(), 1, true) then hits[#hits + 1] = i end
  end
  return hits
end

return M
