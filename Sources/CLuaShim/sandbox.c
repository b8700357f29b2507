/*
 * The sandbox: environments built from an allowlist, never by deleting names.
 *
 * At state creation the shared pieces are built once:
 *   - the sandbox library tables (string without dump and with Loom's interruptible pattern
 *     functions; table with interruptible insert/remove/move; math; utf8; coroutine with resume,
 *     wrap and close that keep the budget on the running thread; os.time/clock/date/difftime);
 *   - a read-only proxy for each (writes, rawset and setmetatable fail; pairs works);
 *   - the base table: the allowlisted base functions, Loom's load/setmetatable/rawset/
 *     collectgarbage, and the library proxies;
 *   - the environment metatable: __index = base, __pairs lists own names then base names,
 *     __metatable hides it.
 * Every chunk then gets a fresh, empty environment table with that metatable (plus _G = itself):
 * about a hundred bytes, and nothing one chunk writes is visible to another.
 */
#include "CLuaShim.h"
#include "shim_internal.h"

#include <string.h>

static char base_key, env_mt_key, readonly_key, script_threads_key;

lua_State *loom_switch_current(lua_State *L, lua_State *to);  /* vm.c */

#define CHECK_EVERY 1024

/* ---- read-only proxies -------------------------------------------------------------------- */

static int ro_newindex(lua_State *L) {
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : luaL_typename(L, 2);
    return luaL_error(L, "cannot set '%s': this table is read-only (shared by every script in the node)", key);
}

static int ro_next(lua_State *L) {
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1))) return 2;
    lua_pushnil(L);
    return 1;
}

static int ro_pairs(lua_State *L) {
    if (!lua_getmetatable(L, 1)) return 0;
    lua_getfield(L, -1, "__index");
    lua_pushcclosure(L, ro_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int ro_len(lua_State *L) {
    if (!lua_getmetatable(L, 1)) return 0;
    lua_getfield(L, -1, "__index");
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, -1));
    return 1;
}

/* Pushes a read-only proxy of the table at idx. */
static void push_readonly(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 6);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, ro_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, ro_len);
    lua_setfield(L, -2, "__len");
    lua_pushliteral(L, "read-only");
    lua_setfield(L, -2, "__metatable");
    lua_pushboolean(L, 1);
    lua_rawsetp(L, -2, &readonly_key);
    lua_setmetatable(L, -2);
}

static int is_readonly(lua_State *L, int idx) {
    if (!lua_getmetatable(L, idx)) return 0;
    int ro = lua_rawgetp(L, -1, &readonly_key) != LUA_TNIL;
    lua_pop(L, 2);
    return ro;
}

static int readonly_k(lua_State *L) {
    push_readonly(L, 1);
    return 1;
}

int loom_readonly_p(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, readonly_k);
    lua_pushvalue(L, idx);
    return lua_pcall(L, 1, 1, 0);
}

/* ---- base function replacements ----------------------------------------------------------- */

static int sb_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

static int sb_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (is_readonly(L, 1)) return luaL_error(L, "rawset: this table is read-only (shared by every script in the node)");
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int sb_collectgarbage(lua_State *L) {
    const char *opt = luaL_optstring(L, 1, "collect");
    if (strcmp(opt, "count") != 0)
        return luaL_error(L, "collectgarbage: only \"count\" is allowed in the sandbox (got \"%s\")", opt);
    int k = lua_gc(L, LUA_GCCOUNT);
    int b = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)k + ((lua_Number)b / 1024));
    return 1;
}

/* Pushes the _ENV the function of activation `ar` sees (its function is at index `function`): an
   active local named _ENV (the last one, as the compiler resolves it), else its _ENV upvalue.
   Returns 1, or 0 with nothing pushed. Shared with math.random (random.c). */
int loom_push_frame_env(lua_State *L, lua_Debug *ar, int function) {
    int found = 0;
    const char *name;
    for (int n = 1; (name = lua_getlocal(L, ar, n)) != NULL; n++) {
        if (strcmp(name, "_ENV") == 0) {
            if (found) lua_remove(L, -2);
            found = 1;
        } else {
            lua_pop(L, 1);
        }
    }
    if (found) return 1;
    for (int n = 1; (name = lua_getupvalue(L, function, n)) != NULL; n++) {
        if (strcmp(name, "_ENV") == 0) return 1;
        lua_pop(L, 1);
    }
    return 0;
}

/* Finds the _ENV the caller of load sees. */
static int push_caller_env(lua_State *L) {
    lua_Debug ar;
    if (!lua_getstack(L, 1, &ar) || !lua_getinfo(L, "f", &ar)) return 0;
    int function = lua_gettop(L);
    int found = loom_push_frame_env(L, &ar, function);
    if (found) lua_remove(L, function);
    else lua_pop(L, 1);
    return found;
}

static int new_env_k(lua_State *L);

/* The compiler runs in C, where no hook fires, and some of its work grows faster than the source
   (a chain of `or`s walks its jump list once per operator: quadratic). So sources are compiled
   from pieces of COMPILE_PIECE bytes, and the reader looks at the deadline before each piece: a
   compile never runs longer than the deadline plus the work of one piece. A reader that stops
   makes the parse end early; the caller turns that into the deadline's error, never a chunk. */
#define COMPILE_PIECE 256

typedef struct {
    const char *s;
    size_t left;
    int stopped;
    int from_function;   /* pieces come from the Lua function at index 1 (load's reader form) */
} PieceReader;

#define RESERVED_SLOT 5

static const char *piece_reader(lua_State *L, void *ud, size_t *size) {
    PieceReader *r = (PieceReader *)ud;
    *size = 0;
    if (r->stopped) return NULL;
    if (loom_interrupted(L)) { r->stopped = 1; return NULL; }
    if (r->left == 0 && r->from_function) {
        luaL_checkstack(L, 2, "too many nested functions");
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            r->from_function = 0;
            return NULL;
        }
        if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
        lua_replace(L, RESERVED_SLOT);   /* keeps the piece alive while the parser reads it */
        r->s = lua_tolstring(L, RESERVED_SLOT, &r->left);
        if (r->left == 0) { r->from_function = 0; return NULL; }   /* "" ends the chunk, as in Lua */
    }
    if (r->left == 0) return NULL;
    size_t n = r->left < COMPILE_PIECE ? r->left : COMPILE_PIECE;
    const char *piece = r->s;
    r->s += n;
    r->left -= n;
    *size = n;
    return piece;
}

/* Compiles text (mode "t") from `bytes`, or from the reader function at index 1 when bytes is
   NULL, checking the deadline between pieces. Returns the status of lua_load; *stopped is set when
   the deadline cut the compile short (the status is then an error, never LUA_OK). */
int loom_compile(lua_State *L, const char *bytes, size_t length, const char *chunkname, int *stopped) {
    PieceReader r = {bytes, bytes ? length : 0, 0, bytes == NULL};
    int status = lua_load(L, piece_reader, &r, chunkname, "t");
    *stopped = r.stopped;
    if (r.stopped && status == LUA_OK) {
        lua_pop(L, 1);   /* a prefix of the source compiled: never hand it out */
        lua_pushliteral(L, "compile stopped at the deadline");
        status = LUA_ERRSYNTAX;
    }
    return status;
}

static int sb_load(lua_State *L) {
    size_t len;
    const char *mode = luaL_optstring(L, 3, "bt");
    int has_env = !lua_isnone(L, 4);
    int status, stopped = 0;
    if (strchr(mode, 't') == NULL) {
        luaL_pushfail(L);
        lua_pushfstring(L, "attempt to load a text chunk (mode is '%s'); the sandbox loads text only", mode);
        return 2;
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, 1, &len);
        const char *chunkname = luaL_optstring(L, 2, s);
        if (len > 0 && s[0] == LUA_SIGNATURE[0]) {
            luaL_pushfail(L);
            lua_pushliteral(L, "binary chunks are not allowed in the sandbox: load Lua source text");
            return 2;
        }
        status = loom_compile(L, s, len, chunkname, &stopped);
    } else {
        const char *chunkname = luaL_optstring(L, 2, "=(load)");
        luaL_checktype(L, 1, LUA_TFUNCTION);
        lua_settop(L, RESERVED_SLOT);
        status = loom_compile(L, NULL, 0, chunkname, &stopped);
    }
    if (stopped) return loom_raise_interrupted(L);
    if (status != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) {
        lua_pushvalue(L, 4);
    } else if (!push_caller_env(L)) {
        lua_pushcfunction(L, new_env_k);
        lua_call(L, 0, 1);
    }
    if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
    return 1;
}

/* xpcall with a message handler that the deadline reaches. Lua calls the handler where the error
   was raised; for an error the budget's hook raised, that is inside the hook, with hooks off, where
   a looping handler could never be stopped. So the handler is wrapped: once the VM is stopped, the
   handler does not run and the stop's error goes through unchanged (it was going to be re-raised
   at the next instruction anyway). Otherwise it runs as in Lua, hooks on. */
static int xpcall_handler(lua_State *L) {
    if (loom_interrupted(L)) return 1;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int finish_xpcall(lua_State *L, int status, lua_KContext extra) {
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_pushboolean(L, 0);
        lua_pushvalue(L, -2);
        return 2;
    }
    return lua_gettop(L) - (int)extra;
}

static int sb_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, xpcall_handler, 1);
    lua_replace(L, 2);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, 1);
    lua_rotate(L, 3, 2);
    int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_xpcall);
    return finish_xpcall(L, status, 2);
}

/* string.rep: Lua's loops once per copy even when the copies are empty (("").rep("", 2^62)), in C
   where no hook fires. An empty result is returned at once; otherwise the result's size bounds the
   loop (and the memory cap bounds the size). */
static int str_rep(lua_State *L) {
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || (l == 0 && (lsep == 0 || n == 1))) {
        lua_pushliteral(L, "");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* ---- finalizers under the budget ---------------------------------------------------------- */

/* Lua runs finalizers with hooks off on the collecting thread, so a looping __gc could never be
   stopped. The sandbox refuses __gc outright. Host code (the unsandboxed globals) may set one, and
   its setmetatable wraps the finalizer: the wrapper runs it on a fresh coroutine, where hooks work,
   as a host entry (loom_resume), under the running entry's deadline or a deadline of its own. */
static int guarded_gc(lua_State *L) {
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 2);
    int nres = 0;
    int status = loom_resume(L, co, 1, &nres);
    if (status != LUA_OK && status != LUA_YIELD) {
        lua_xmove(co, L, 1);
        return lua_error(L);   /* Lua turns an error in a finalizer into a warning */
    }
    return 0;
}

static int host_setmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
        return luaL_error(L, "cannot change a protected metatable");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        int gct = lua_rawget(L, 2);
        if (gct != LUA_TNIL && lua_tocfunction(L, -1) != guarded_gc) {
            lua_pushcclosure(L, guarded_gc, 1);
            lua_pushliteral(L, "__gc");
            lua_insert(L, -2);
            lua_rawset(L, 2);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

/* ---- coroutines that keep the budget on the running thread -------------------------------- */

static lua_State *check_co(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    return co;
}

/* Scripts may resume and close only the coroutines scripts made. The node runs handlers on
   coroutines of its own, reused from a pool: one that a script got hold of (coroutine.running()
   in a handler) could otherwise be resumed or closed later, while it runs another agent's handler.
   Script-made coroutines are kept in a weak-keyed registry table. */
static void remember_script_thread(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &script_threads_key);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

static lua_State *check_script_co(lua_State *L, const char *what) {
    lua_State *co = check_co(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &script_threads_key);
    lua_pushvalue(L, 1);
    int mine = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    if (!mine && co != L)
        luaL_error(L, "cannot %s this coroutine: it belongs to the node (a handler's), not to a script", what);
    return co;
}

static int co_create(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    remember_script_thread(L, -1);
    return 1;
}

static int close_thread(lua_State *co, lua_State *from) {
#if LUA_VERSION_RELEASE_NUM >= 50406
    return lua_closethread(co, from);
#else
    (void)from;
    return lua_resetthread(co);
#endif
}

/* Resets a finished coroutine for reuse (the host's coroutine pool). Returns a Lua status. */
int loom_thread_reset(lua_State *L, lua_State *co) {
    lua_State *outer = loom_switch_current(L, co);
    int status = close_thread(co, L);
    loom_switch_current(L, outer);
    lua_settop(co, 0);
    return status;
}

/* Resumes co with narg values from L. Returns the number of results moved to L, or -1 with the
   error value on top of L. */
static int resume_aux(lua_State *L, lua_State *co, int narg) {
    if (loom_interrupted(L)) loom_raise_interrupted(L);
    if (loom_stack_exhausted()) {
        lua_pushliteral(L, "C stack overflow (coroutines nested too deeply)");
        return -1;
    }
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    lua_xmove(L, co, narg);
    int nres;
    lua_State *outer = loom_switch_current(L, co);
    int status = lua_resume(co, L, narg, &nres);
    loom_switch_current(L, outer);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);
    return -1;
}

static int co_resume(lua_State *L) {
    lua_State *co = check_script_co(L, "resume");
    int r = resume_aux(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

static int co_wrap_call(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int r = resume_aux(L, co, lua_gettop(L));
    if (r < 0) {
        int status = lua_status(co);
        if (status != LUA_OK && status != LUA_YIELD && !loom_stack_exhausted()) {
            lua_State *outer = loom_switch_current(L, co);
            status = close_thread(co, L);
            loom_switch_current(L, outer);
            lua_xmove(co, L, 1);
        }
        if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return r;
}

static int co_wrap(lua_State *L) {
    co_create(L);   /* the coroutine, recorded as a script's, on top */
    lua_pushcclosure(L, co_wrap_call, 1);
    return 1;
}

enum { CO_RUNNING, CO_DEAD, CO_SUSPENDED, CO_NORMAL };
static const char *const co_status_names[] = {"running", "dead", "suspended", "normal"};

static int co_status_of(lua_State *L, lua_State *co) {
    if (L == co) return CO_RUNNING;
    switch (lua_status(co)) {
        case LUA_YIELD: return CO_SUSPENDED;
        case LUA_OK: {
            lua_Debug ar;
            if (lua_getstack(co, 0, &ar)) return CO_NORMAL;
            return lua_gettop(co) == 0 ? CO_DEAD : CO_SUSPENDED;
        }
        default: return CO_DEAD;
    }
}

static int co_close(lua_State *L) {
    lua_State *co = check_script_co(L, "close");
    if (loom_stack_exhausted()) return luaL_error(L, "C stack overflow (coroutines closed inside each other too deeply)");
    int s = co_status_of(L, co);
    if (s != CO_DEAD && s != CO_SUSPENDED)
        return luaL_error(L, "cannot close a %s coroutine", co_status_names[s]);
    lua_State *outer = loom_switch_current(L, co);
    int status = close_thread(co, L);
    loom_switch_current(L, outer);
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_pushfail(L);
    lua_xmove(co, L, 1);
    return 2;
}

/* ---- interruptible table functions -------------------------------------------------------- */

#define TAB_R 1
#define TAB_W 2
#define TAB_L 4

static void check_table(lua_State *L, int arg, int what) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    int n = 1;
    if (lua_getmetatable(L, arg) &&
        (!(what & TAB_R) || (n++, lua_getfield(L, -n, "__index") != LUA_TNIL)) &&
        (!(what & TAB_W) || (n++, lua_getfield(L, -n, "__newindex") != LUA_TNIL)) &&
        (!(what & TAB_L) || (n++, lua_getfield(L, -n, "__len") != LUA_TNIL))) {
        lua_pop(L, n);
        return;
    }
    luaL_checktype(L, arg, LUA_TTABLE);
}

static lua_Integer length_of(lua_State *L, int arg, int what) {
    check_table(L, arg, what | TAB_L);
    return luaL_len(L, arg);
}

static void tick(lua_State *L, lua_Integer i) {
    if ((i & (CHECK_EVERY - 1)) == 0 && loom_interrupted(L)) loom_raise_interrupted(L);
}

static int tb_insert(lua_State *L) {
    lua_Integer pos;
    lua_Integer e = length_of(L, 1, TAB_R | TAB_W) + 1;
    switch (lua_gettop(L)) {
        case 2: pos = e; break;
        case 3: {
            pos = luaL_checkinteger(L, 2);
            luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)e, 2, "position out of bounds");
            lua_Integer steps = 0;
            for (lua_Integer i = e; i > pos; i--) {
                tick(L, ++steps);
                lua_geti(L, 1, i - 1);
                lua_seti(L, 1, i);
            }
            break;
        }
        default: return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

static int tb_remove(lua_State *L) {
    lua_Integer size = length_of(L, 1, TAB_R | TAB_W);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size)
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    lua_geti(L, 1, pos);
    lua_Integer steps = 0;
    for (; pos < size; pos++) {
        tick(L, ++steps);
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

static int tb_move(lua_State *L) {
    lua_Integer f = luaL_checkinteger(L, 2);
    lua_Integer e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4);
    int tt = !lua_isnoneornil(L, 5) ? 5 : 1;
    check_table(L, 1, TAB_R);
    check_table(L, tt, TAB_W);
    if (e >= f) {
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        lua_Integer n = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
            for (lua_Integer i = 0; i < n; i++) {
                tick(L, i + 1);
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        } else {
            for (lua_Integer i = n - 1; i >= 0; i--) {
                tick(L, n - i);
                lua_geti(L, 1, f + i);
                lua_seti(L, tt, t + i);
            }
        }
    }
    lua_pushvalue(L, tt);
    return 1;
}

/* ---- the environment ---------------------------------------------------------------------- */

/* __pairs for environments: own names first, then the base names it does not shadow. */
static int env_next(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);   /* the iterator is reachable: pairs(_ENV) returns it */
    lua_settop(L, 2);
    int base = lua_upvalueindex(1);
    int in_base = 0;
    if (!lua_isnil(L, 2)) {
        lua_pushvalue(L, 2);
        in_base = lua_rawget(L, 1) == LUA_TNIL;
        lua_pop(L, 1);
    }
    if (!in_base) {
        lua_pushvalue(L, 2);
        if (lua_next(L, 1)) return 2;
        lua_pushnil(L);
    } else {
        lua_pushvalue(L, 2);
    }
    while (lua_next(L, base)) {
        lua_pushvalue(L, -2);
        if (lua_rawget(L, 1) == LUA_TNIL) {
            lua_pop(L, 1);
            return 2;
        }
        lua_pop(L, 2);
    }
    lua_pushnil(L);
    return 1;
}

static int env_pairs(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &base_key);
    lua_pushcclosure(L, env_next, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int new_env_k(lua_State *L) {
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &env_mt_key);
    lua_setmetatable(L, -2);
    return 1;
}

int loom_new_env_p(lua_State *L) {
    lua_pushcfunction(L, new_env_k);
    return lua_pcall(L, 0, 1, 0);
}

/* ---- building it ------------------------------------------------------------------------- */

/* Copies the named fields of the table at src into the table on top. */
static void copy_fields(lua_State *L, int src, const char *const names[]) {
    for (int i = 0; names[i]; i++) {
        lua_getfield(L, src, names[i]);
        if (lua_isnil(L, -1)) luaL_error(L, "loom: the standard library has no '%s'", names[i]);
        lua_setfield(L, -2, names[i]);
    }
}

/* Pushes the standard library table `name` from package.loaded-style registry storage. */
static int push_std(lua_State *L, const char *name) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    return lua_absindex(L, -1);
}

/* Builds sandbox library `name` from the allowlist and the replacements, leaves the real table and
   stores its proxy in the base table at index base. */
static void add_library(lua_State *L, int base, const char *name, const char *const allow[], const luaL_Reg *own) {
    int std = push_std(L, name);
    lua_newtable(L);
    copy_fields(L, std, allow);
    if (own) luaL_setfuncs(L, own, 0);
    push_readonly(L, -1);
    lua_setfield(L, base, name);
    lua_remove(L, std);  /* leaves the real sandbox table on top */
}

int loom_open_sandbox(lua_State *L) {
    static const char *const base_allow[] = {
        "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
        "rawequal", "rawget", "rawlen", "select", "tonumber", "tostring", "type", "_VERSION", NULL};
    static const luaL_Reg base_own[] = {
        {"load", sb_load}, {"setmetatable", sb_setmetatable}, {"rawset", sb_rawset},
        {"collectgarbage", sb_collectgarbage}, {"xpcall", sb_xpcall}, {NULL, NULL}};
    static const char *const string_allow[] = {
        "byte", "char", "format", "len", "lower", "pack", "packsize", "rep", "reverse", "sub",
        "unpack", "upper", NULL};
    static const luaL_Reg string_own[] = {
        {"find", loom_str_find}, {"match", loom_str_match}, {"gmatch", loom_str_gmatch},
        {"gsub", loom_str_gsub}, {NULL, NULL}};
    static const char *const table_allow[] = {"concat", "pack", "sort", "unpack", NULL};
    static const luaL_Reg table_own[] = {
        {"insert", tb_insert}, {"remove", tb_remove}, {"move", tb_move}, {NULL, NULL}};
    static const char *const math_allow[] = {
        "abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max", "maxinteger",
        "min", "mininteger", "modf", "pi", "rad", "sin", "sqrt", "tan",
        "tointeger", "type", "ult", "acos", "asin", "atan", NULL};
    static const luaL_Reg math_own[] = {
        {"random", loom_math_random}, {"randomseed", loom_math_randomseed}, {NULL, NULL}};
    static const char *const utf8_allow[] = {
        "char", "charpattern", "codepoint", "codes", "len", "offset", NULL};
    static const char *const coroutine_allow[] = {
        "isyieldable", "running", "status", "yield", NULL};
    static const luaL_Reg coroutine_own[] = {
        {"create", co_create}, {"resume", co_resume}, {"wrap", co_wrap}, {"close", co_close}, {NULL, NULL}};
    static const char *const os_allow[] = {"clock", "date", "difftime", "time", NULL};

    lua_newtable(L);
    int base = lua_gettop(L);
    lua_pushglobaltable(L);
    int globals = lua_gettop(L);
    lua_pushcfunction(L, host_setmetatable);
    lua_setfield(L, globals, "setmetatable");
    lua_pushvalue(L, base);
    copy_fields(L, globals, base_allow);
    luaL_setfuncs(L, base_own, 0);
    lua_pop(L, 2);

    add_library(L, base, LUA_STRLIBNAME, string_allow, string_own);
    int sandbox_string = lua_gettop(L);
    lua_getfield(L, sandbox_string, "rep");
    lua_pushcclosure(L, str_rep, 1);
    lua_setfield(L, sandbox_string, "rep");
    add_library(L, base, LUA_TABLIBNAME, table_allow, table_own);
    add_library(L, base, LUA_MATHLIBNAME, math_allow, math_own);
    add_library(L, base, LUA_UTF8LIBNAME, utf8_allow, NULL);
    add_library(L, base, LUA_COLIBNAME, coroutine_allow, coroutine_own);
    add_library(L, base, LUA_OSLIBNAME, os_allow, NULL);
    lua_settop(L, sandbox_string);

    /* The string metatable: methods come from the sandbox string table, and getmetatable("")
       returns a read-only view, so no script can change what another sees. */
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1)) luaL_error(L, "loom: strings have no metatable");
    int string_mt = lua_gettop(L);
    lua_pushvalue(L, sandbox_string);
    lua_setfield(L, string_mt, "__index");
    lua_createtable(L, 0, 1);
    lua_getfield(L, base, LUA_STRLIBNAME);
    lua_setfield(L, -2, "__index");
    push_readonly(L, -1);
    lua_setfield(L, string_mt, "__metatable");
    lua_settop(L, base);

    lua_pushvalue(L, base);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &base_key);

    lua_createtable(L, 0, 0);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &script_threads_key);

    lua_createtable(L, 0, 3);
    lua_pushvalue(L, base);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, env_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushliteral(L, "sandbox environment");
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &env_mt_key);
    lua_settop(L, base - 1);
    return 0;
}
