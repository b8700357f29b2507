-- text.scan: words and lines of a text.
local M = {}

function M.words(text)
  local out = {}
  for word in text:gmatch("%w+") do out[#out + 1] = word:lower() end
  return out
end

function M.lines(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do out[#out + 1] = line end
  return out
end

return M
