/*
 * Swift functions in Lua, and the protected helpers Swift uses for anything that allocates.
 *
 * A Swift function is a C closure (the trampoline) whose single upvalue is a full userdata holding
 * a retained pointer to the Swift box. The userdata's metatable has a __gc that gives the retain
 * back. The trampoline calls the Swift dispatcher, which never raises: it returns the number of
 * results, or LOOM_RAISE with the error value on top, and the trampoline raises it here, in C.
 */
#include "CLuaShim.h"
#include "shim_internal.h"


static loom_dispatch_fn swift_dispatch = NULL;
static loom_release_fn swift_release = NULL;
static char swift_function_mt_key;

void loom_set_swift_callbacks(loom_dispatch_fn dispatch, loom_release_fn release) {
    swift_dispatch = dispatch;
    swift_release = release;
}

static int trampoline(lua_State *L) {
    void **slot = (void **)lua_touserdata(L, lua_upvalueindex(1));
    if (slot == NULL || *slot == NULL)
        return luaL_error(L, "this host function was already released");
    int n = swift_dispatch(L, *slot);
    if (n < 0) return lua_error(L);
    return n;
}

static int swift_function_gc(lua_State *L) {
    void **slot = (void **)lua_touserdata(L, 1);
    if (slot && *slot) {
        void *box = *slot;
        *slot = NULL;
        swift_release(box);
    }
    return 0;
}

static int push_swift_function_k(lua_State *L) {
    void *box = lua_touserdata(L, 1);
    void **slot = (void **)lua_newuserdatauv(L, sizeof(void *), 0);
    *slot = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &swift_function_mt_key) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushcfunction(L, swift_function_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushliteral(L, "host function");
        lua_setfield(L, -2, "__metatable");
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &swift_function_mt_key);
    }
    lua_setmetatable(L, -2);
    lua_pushcclosure(L, trampoline, 1);
    *slot = box;   /* only now does Lua own the retain: nothing after this can fail */
    return 1;
}

int loom_push_swift_function(lua_State *L, void *box) {
    lua_pushcfunction(L, push_swift_function_k);
    lua_pushlightuserdata(L, box);
    return lua_pcall(L, 1, 1, 0);
}

/* ---- protected helpers -------------------------------------------------------------------- */

static int pushlstring_k(lua_State *L) {
    const char *s = (const char *)lua_touserdata(L, 1);
    size_t len = (size_t)lua_tointeger(L, 2);
    lua_pushlstring(L, s, len);
    return 1;
}

int loom_pushlstring_p(lua_State *L, const char *s, size_t len) {
    lua_pushcfunction(L, pushlstring_k);
    lua_pushlightuserdata(L, (void *)s);
    lua_pushinteger(L, (lua_Integer)len);
    return lua_pcall(L, 2, 1, 0);
}

static int createtable_k(lua_State *L) {
    lua_createtable(L, (int)lua_tointeger(L, 1), (int)lua_tointeger(L, 2));
    return 1;
}

int loom_createtable_p(lua_State *L, int narr, int nrec) {
    lua_pushcfunction(L, createtable_k);
    lua_pushinteger(L, narr);
    lua_pushinteger(L, nrec);
    return lua_pcall(L, 2, 1, 0);
}

static int rawset_k(lua_State *L) {
    /* 1: table, 2: key, 3: value */
    int kt = lua_type(L, 2);
    if (kt == LUA_TNIL) return luaL_error(L, "table index is nil");
    if (kt == LUA_TNUMBER && !lua_isinteger(L, 2)) {
        lua_Number n = lua_tonumber(L, 2);
        if (n != n) return luaL_error(L, "table index is NaN");
    }
    lua_rawset(L, 1);
    return 0;
}

int loom_rawset_p(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, rawset_k);
    lua_pushvalue(L, idx);
    lua_rotate(L, -4, 2);   /* k v f t -> f t k v */
    return lua_pcall(L, 3, 0, 0);
}

static int rawseti_k(lua_State *L) {
    /* 1: table, 2: index, 3: value */
    lua_rawseti(L, 1, lua_tointeger(L, 2));
    return 0;
}

int loom_rawseti_p(lua_State *L, int idx, lua_Integer n) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, rawseti_k);
    lua_pushvalue(L, idx);
    lua_pushinteger(L, n);
    lua_rotate(L, -4, -1);  /* v f t n -> f t n v */
    return lua_pcall(L, 3, 0, 0);
}

static int setfield_k(lua_State *L) {
    /* 1: table, 2: value, 3: key (light userdata to a C string) */
    const char *k = (const char *)lua_touserdata(L, 3);
    lua_settop(L, 2);
    lua_pushstring(L, k);
    lua_insert(L, 2);
    lua_rawset(L, 1);
    return 0;
}

int loom_setfield_p(lua_State *L, int idx, const char *k) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, setfield_k);
    lua_pushvalue(L, idx);
    lua_rotate(L, -3, 2);   /* v f t -> f t v */
    lua_pushlightuserdata(L, (void *)k);
    return lua_pcall(L, 3, 0, 0);
}

static int getfield_k(lua_State *L) {
    lua_getfield(L, 1, (const char *)lua_touserdata(L, 2));
    return 1;
}

int loom_getfield_p(lua_State *L, int idx, const char *k) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, getfield_k);
    lua_pushvalue(L, idx);
    lua_pushlightuserdata(L, (void *)k);
    return loom_pcall(L, 2, 1);
}

static int ref_k(lua_State *L) {
    int *out = (int *)lua_touserdata(L, 2);
    lua_settop(L, 1);
    *out = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

int loom_ref_p(lua_State *L, int *ref) {
    *ref = LUA_NOREF;
    lua_pushcfunction(L, ref_k);
    lua_rotate(L, -2, 1);   /* v f -> f v */
    lua_pushlightuserdata(L, ref);
    return lua_pcall(L, 2, 0, 0);
}

static int newthread_k(lua_State *L) {
    lua_State **out = (lua_State **)lua_touserdata(L, 1);
    *out = lua_newthread(L);
    return 1;
}

int loom_newthread_p(lua_State *L, lua_State **thread) {
    *thread = NULL;
    lua_pushcfunction(L, newthread_k);
    lua_pushlightuserdata(L, thread);
    return lua_pcall(L, 1, 1, 0);
}
