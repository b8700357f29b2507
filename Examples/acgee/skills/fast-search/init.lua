-- fast.search: an inverted index; search@2 returns {doc, score} pairs.
local M = {}

function M.index(documents, words_of)
  local index = {}
  for i, doc in ipairs(documents) do
    for _, w in ipairs(words_of(doc)) do
      index[w] = index[w] or {}
      index[w][i] = (index[w][i] or 0) + 1
    end
  end
  return index
end

function M.find(index, word)
  local out = {}
  for doc, score in pairs(index[word:lower()] or {}) do out[#out + 1] = {doc = doc, score = score} end
  table.sort(out, function(a, b) return a.score > b.score or (a.score == b.score and a.doc < b.doc) end)
  return out
end

return M
