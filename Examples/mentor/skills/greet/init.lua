-- greet@1: the mentor's way of greeting.
local M = {}

--- A polite greeting for `name`.
---@param name string
---@return string
function M.hello(name)
  return "Good day, " .. name .. "."
end

return M
