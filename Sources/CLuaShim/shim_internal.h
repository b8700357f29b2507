/* Internal declarations shared by the C files of CLuaShim. Not visible to Swift. */
#ifndef LOOM_SHIM_INTERNAL_H
#define LOOM_SHIM_INTERNAL_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* Nonzero once the running entry's deadline (or instruction budget) has been broken.
   Cheap: one atomic load. Long-running C loops call it every few thousand steps. */
int loom_interrupted(lua_State *L);

/* Raises the budget error for the current stop (timeout or instruction budget). Never returns. */
int loom_raise_interrupted(lua_State *L);

/* Interruptible pattern functions (pattern.c): same semantics as Lua 5.4's string library. */
int loom_str_find(lua_State *L);
int loom_str_match(lua_State *L);
int loom_str_gmatch(lua_State *L);
int loom_str_gsub(lua_State *L);

/* Pushes the _ENV seen by the function of activation `ar` (at index `function`): an active local
   named _ENV, else its _ENV upvalue. Returns 1, or 0 with nothing pushed (sandbox.c). */
int loom_push_frame_env(lua_State *L, lua_Debug *ar, int function);

/* math.random and math.randomseed with a generator per environment (random.c). */
int loom_math_random(lua_State *L);
int loom_math_randomseed(lua_State *L);

/* Compiles text from bytes, or from the reader function at index 1 when bytes is NULL, looking at
   the deadline between small pieces (sandbox.c). *stopped is set when the deadline cut it short. */
int loom_compile(lua_State *L, const char *bytes, size_t length, const char *chunkname, int *stopped);

/* Nonzero when the running thread's C stack is nearly used up (vm.c). Checked where Lua does not
   count C levels itself: closing coroutines (Lua 5.4.4's lua_resetthread starts its count at 0). */
int loom_stack_exhausted(void);

#endif
