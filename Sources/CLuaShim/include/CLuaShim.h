/*
 * CLuaShim: the C side of Loom's Lua bridge, for one Lua state. It reads top-down as lua.h then
 * lauxlib.h do:
 *
 * 1. Types and the Swift callbacks.
 * 2. States: the per-VM control block (the memory-capped allocator, the deadline and instruction
 *    budget, the watchdog that arms the hook only when a deadline passes, the error details the
 *    traceback handler captures).
 * 3. Entries into Lua: protected calls, loads and resumes under the traceback handler and budget.
 * 4. The sandbox: read-only library tables and fresh environments built from an allowlist.
 * 5. Swift functions: the closure trampoline. Swift never raises a Lua error: a Swift function
 *    returns LOOM_RAISE with the error value on the stack, and the trampoline (C) raises it.
 * 6. Protected helpers: the API calls that allocate (and so can raise "not enough memory").
 * 7. Macro wrappers (Swift cannot import function-like macros).
 * 8. What layers built on the shim need (the runtime's mail, CLoomMail).
 *
 * The runtime's mail and batched delivery are a layer of their own (CLoomMail); the benchmarks'
 * raw-C baselines are in CLoomBench. This target is the only code in Loom that raises Lua errors
 * (lua_error never runs in a Swift frame).
 */
#ifndef LOOM_CLUASHIM_H
#define LOOM_CLUASHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>

/* Returned by a Swift function (through the trampoline) to ask C to raise the value on top. */
#define LOOM_RAISE (-1)

/* Why the running entry was stopped. */
typedef enum {
    LOOM_STOP_NONE = 0,
    LOOM_STOP_TIMEOUT = 1,  /* the wall-clock deadline passed */
    LOOM_STOP_BUDGET = 2,   /* the instruction budget ran out */
} LoomStop;

/* The kind of a failed load or call, as LuaKit reports it. */
typedef enum {
    LOOM_KIND_OK = 0,
    LOOM_KIND_SYNTAX = 1,
    LOOM_KIND_RUNTIME = 2,
    LOOM_KIND_MEMORY = 3,
    LOOM_KIND_TIMEOUT = 4,
    LOOM_KIND_BUDGET = 5,
} LoomErrorKind;

/* Where the last error happened, captured by the traceback handler. */
typedef struct {
    int kind;           /* LoomErrorKind */
    int line;           /* first Lua frame's current line, or -1 */
    char source[256];   /* that frame's short source, or "" */
} LoomErrorInfo;

/* ---- Swift callbacks ---------------------------------------------------------------------- */

/* Called by the trampoline: returns the number of results pushed, or LOOM_RAISE. Never raises. */
typedef int (*loom_dispatch_fn)(lua_State *L, void *box);
/* Called by a Swift function userdata's __gc: drops the retained box. Never raises. */
typedef void (*loom_release_fn)(void *box);
void loom_set_swift_callbacks(loom_dispatch_fn dispatch, loom_release_fn release);

/* ---- States ------------------------------------------------------------------------------- */

/* Creates a state whose allocator refuses to grow past memory_limit bytes (0 = no cap), with the
   standard base, string, table, math, utf8 and coroutine libraries in its globals (host use only)
   and the sandbox prepared. Returns NULL when even that does not fit. */
lua_State *loom_newstate(size_t memory_limit);
/* Closes the state. Finalizers run under a deadline of budget_ns (0 = the state's timeout, or one
   second when the state has none). */
void loom_close(lua_State *L, int64_t budget_ns);

void loom_set_timeout(lua_State *L, int64_t nanoseconds);         /* 0 = no deadline */
int loom_depth(lua_State *L);                                     /* nesting of host entries now */
void loom_set_instruction_limit(lua_State *L, int64_t count);     /* 0 = no instruction budget */
void loom_set_memory_limit(lua_State *L, size_t bytes);           /* 0 = no cap */
size_t loom_memory_limit(lua_State *L);
size_t loom_memory_used(lua_State *L);
/* The error details of the last failed loom_pcall / loom_load / loom_resume on this state. */
void loom_last_error(lua_State *L, LoomErrorInfo *info);

/* A lua_CFunction returning the traceback of the running thread under its argument. */
int loom_traceback_function(lua_State *L);

/* Pushes the traceback of the last runtime error (a string, possibly empty). */
void loom_push_last_traceback(lua_State *L);

/* ---- Entries into Lua --------------------------------------------------------------------- */

/* Calls the function below nargs arguments under the traceback handler and, for the outermost
   entry, the deadline and instruction budget. Returns a Lua status. On error the message (a string,
   converted with __tostring under the same budget, or the raw object when that fails) is on top. */
int loom_pcall(lua_State *L, int nargs, int nresults);
/* Loads a text chunk (binary chunks are refused). With env_index != 0, the chunk's _ENV is the
   value at that index; otherwise it is a fresh sandbox environment. Returns a Lua status. */
int loom_load(lua_State *L, const char *bytes, size_t length, const char *chunkname, int env_index);
/* Resets a finished coroutine (returned or failed) so that it can run a new function. */
int loom_thread_reset(lua_State *L, lua_State *co);
/* Resumes coroutine co from the host under the same budget rules as loom_pcall. */
int loom_resume(lua_State *L, lua_State *co, int nargs, int *nresults);

/* ---- The sandbox -------------------------------------------------------------------------- */

/* Pushes a new sandbox environment: its own globals, reading the shared read-only libraries. */
int loom_new_env_p(lua_State *L);
/* Makes the table at idx read-only to sandboxed code: pushes a proxy for it. */
int loom_readonly_p(lua_State *L, int idx);

/* ---- Swift functions ---------------------------------------------------------------------- */

/* Pushes a Lua function that calls the Swift box through the dispatcher. On LUA_OK Lua owns one
   retain of box (released by __gc); on failure the caller still owns it. */
int loom_push_swift_function(lua_State *L, void *box);

/* ---- Protected helpers for Swift (each returns a Lua status; on error the error is on top) ---- */

int loom_pushlstring_p(lua_State *L, const char *s, size_t len);
int loom_createtable_p(lua_State *L, int narr, int nrec);
int loom_rawset_p(lua_State *L, int idx);             /* t[k] = v, popping k and v */
int loom_rawseti_p(lua_State *L, int idx, lua_Integer n); /* t[n] = v, popping v */
int loom_setfield_p(lua_State *L, int idx, const char *k); /* raw t[k] = v, popping v */
int loom_ref_p(lua_State *L, int *ref);                /* luaL_ref in the registry, popping */
int loom_getfield_p(lua_State *L, int idx, const char *k); /* t[k] with metamethods */
int loom_newthread_p(lua_State *L, lua_State **thread);

/* ---- Macro wrappers ----------------------------------------------------------------------- */

static inline void loom_pop(lua_State *L, int n) { lua_settop(L, -(n) - 1); }
static inline int loom_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int loom_noref(void) { return LUA_NOREF; }
static inline int loom_multret(void) { return LUA_MULTRET; }
static inline void loom_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcclosure(L, f, 0); }
static inline void loom_remove(lua_State *L, int idx) { lua_rotate(L, idx, -1); lua_settop(L, -2); }
static inline lua_Integer loom_tointegerx(lua_State *L, int idx, int *isnum) { return lua_tointegerx(L, idx, isnum); }
static inline lua_Number loom_tonumberx(lua_State *L, int idx, int *isnum) { return lua_tonumberx(L, idx, isnum); }
static inline int loom_isinteger(lua_State *L, int idx) { return lua_isinteger(L, idx); }
/* Only for values whose type is LUA_TSTRING: then it never allocates. */
static inline const char *loom_tolstring(lua_State *L, int idx, size_t *len) { return lua_tolstring(L, idx, len); }
static inline void loom_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
static inline int loom_rawgeti_registry(lua_State *L, int ref) { return lua_rawgeti(L, LUA_REGISTRYINDEX, (lua_Integer)ref); }
/* A full garbage collection (finalizers run protected, host ones under a deadline). */
static inline void loom_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }

/* ---- For layers built on the shim (CLoomMail) ------------------------------------------- */

/* Many handlers in one entry: open once (returns whether this is the outermost entry), renew the
   deadline and the instruction budget before each handler's resume (each gets the whole budget;
   the watchdog interrupts the one running), close once with open's result. Only C code that resumes
   coroutines itself (the mail's delivery loop) needs these; Swift enters Lua through loom_pcall,
   loom_load and loom_resume. */
int loom_entry_open(lua_State *L);
void loom_entry_renew(lua_State *L);
void loom_entry_close(lua_State *L, int outermost);

#endif
