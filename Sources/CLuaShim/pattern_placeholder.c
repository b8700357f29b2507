/* DEV ONLY placeholder until pattern.c lands: forwards to the standard string library. */
#include "shim_internal.h"
static int fwd(lua_State *L, const char *name) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "string"); lua_getfield(L, -1, name);
    lua_replace(L, -3); lua_pop(L, 1);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}
int loom_str_find(lua_State *L) { return fwd(L, "find"); }
int loom_str_match(lua_State *L) { return fwd(L, "match"); }
int loom_str_gmatch(lua_State *L) { return fwd(L, "gmatch"); }
int loom_str_gsub(lua_State *L) { return fwd(L, "gsub"); }
