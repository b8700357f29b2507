-- greet@1, overridden: the mentor's greeting (through super), louder.
local M = {}

--- The inherited greeting for `name`, in capitals.
---@param name string
---@return string
function M.hello(name)
  return string.upper(super.hello(name)) .. "!"
end

return M
