/*
 * Batched message delivery: plain values built from a flat list of operations in one protected
 * call, and handlers resumed one after another in C, stopping at the first that yields or fails.
 * The host calls these instead of one protected call per table field and one Swift round trip
 * per message.
 */
#include "CLoomMail.h"

#include <lauxlib.h>

typedef struct {
    const LoomValueOp *ops;
    size_t count;
    size_t pos;
    const char *arena;
    int values;
} BuildState;

static void build_value(lua_State *L, BuildState *b, int depth) {
    if (b->pos >= b->count) luaL_error(L, "value description ends early");
    const LoomValueOp *op = &b->ops[b->pos++];
    switch (op->tag) {
    case LOOM_OP_NIL: lua_pushnil(L); break;
    case LOOM_OP_FALSE: lua_pushboolean(L, 0); break;
    case LOOM_OP_TRUE: lua_pushboolean(L, 1); break;
    case LOOM_OP_INTEGER: lua_pushinteger(L, (lua_Integer)op->integer); break;
    case LOOM_OP_NUMBER: lua_pushnumber(L, (lua_Number)op->number); break;
    case LOOM_OP_STRING: lua_pushlstring(L, b->arena + op->offset, op->length); break;
    case LOOM_OP_TABLE: {
        if (depth > 200) luaL_error(L, "value nests too deeply");
        luaL_checkstack(L, 4, "building a value");
        int narr = (int)op->offset, nrec = (int)op->length;
        lua_createtable(L, narr, nrec);
        for (int i = 1; i <= narr; i++) {
            build_value(L, b, depth + 1);
            lua_rawseti(L, -2, i);
        }
        for (int i = 0; i < nrec; i++) {
            build_value(L, b, depth + 1);
            if (lua_isnil(L, -1)) luaL_error(L, "table index is nil");
            build_value(L, b, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    }
    default: luaL_error(L, "unknown value operation %d", (int)op->tag);
    }
}

static int build_values_k(lua_State *L) {
    BuildState *b = (BuildState *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    luaL_checkstack(L, b->values + 8, "building values");
    for (int i = 0; i < b->values; i++) build_value(L, b, 0);
    return b->values;
}

int loom_build_values_p(lua_State *L, const LoomValueOp *ops, size_t count, const char *arena, int values) {
    BuildState b = {ops, count, 0, arena, values};
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    lua_pushcfunction(L, build_values_k);
    lua_pushlightuserdata(L, &b);
    return lua_pcall(L, 1, values, 0);
}

int loom_run_batch(lua_State *L, lua_State *const *threads, const int *handlers, int base, int n, int nargs,
                   LoomBatchHook hook, void *context, int *stopped, int *nresults) {
    *stopped = n;
    *nresults = 0;
    if (!lua_checkstack(L, nargs + 2)) return LUA_ERRMEM;
    for (int i = 0; i < n; i++) {
        lua_State *co = threads[i];
        loom_thread_reset(L, co);
        if (!lua_checkstack(co, nargs + 2)) { *stopped = i; return LUA_ERRMEM; }
        lua_rawgeti(L, LUA_REGISTRYINDEX, handlers[i]);
        for (int a = 0; a < nargs; a++) lua_pushvalue(L, base + i * nargs + a);
        lua_xmove(L, co, nargs + 1);
        if (hook) hook(context, i);
        int results = 0;
        int status = loom_resume(L, co, nargs, &results);
        if (status != LUA_OK) {
            *stopped = i;
            *nresults = results;
            return status;
        }
        lua_settop(co, 0);
    }
    return LUA_OK;
}
