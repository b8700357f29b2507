/*
 * CLuaShim: the C side of Loom's Lua bridge.
 *
 * - Wrappers for the Lua macros Swift needs (Swift cannot import function-like macros).
 * - The closure trampoline that lets Lua call Swift functions. Swift never raises a Lua error:
 *   a Swift function returns LOOM_RAISE with the error value on the stack, and the trampoline
 *   (C) raises it.
 * - Protected versions of the API calls that allocate (and so can raise "not enough memory").
 * - The per-VM control block: the memory-capped allocator, the deadline and instruction budget,
 *   the watchdog that arms the hook only when a deadline passes, the error details captured by
 *   the traceback handler.
 * - The sandbox: read-only library tables and fresh environments built from an allowlist.
 *
 * This is the only code in Loom that raises Lua errors (lua_error never runs in a Swift frame).
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
int64_t loom_timeout(lua_State *L);
int loom_depth(lua_State *L);                                     /* nesting of host entries now */
void loom_set_instruction_limit(lua_State *L, int64_t count);     /* 0 = no instruction budget */
void loom_set_memory_limit(lua_State *L, size_t bytes);           /* 0 = no cap */
size_t loom_memory_limit(lua_State *L);
size_t loom_memory_used(lua_State *L);
/* The error details of the last failed loom_pcall / loom_load / loom_resume on this state. */
void loom_last_error(lua_State *L, LoomErrorInfo *info);
/* ---- batched delivery (batch.c) ---- */

enum { LOOM_OP_NIL = 0, LOOM_OP_FALSE, LOOM_OP_TRUE, LOOM_OP_INTEGER, LOOM_OP_NUMBER, LOOM_OP_STRING, LOOM_OP_TABLE };

/* One operation of a flat value description: a scalar, a string (offset and length in an arena),
   or a table (offset = array count, length = hash count) followed by its array values and then
   its key/value pairs. */
typedef struct {
    int32_t tag;
    int64_t integer;
    double number;
    size_t offset;
    size_t length;
} LoomValueOp;

/* Builds `values` values from `ops` in one protected call and pushes them. */
int loom_build_values_p(lua_State *L, const LoomValueOp *ops, size_t count, const char *arena, int values);

typedef void (*LoomBatchHook)(void *context, int index);

/* Resumes handlers[i] (registry refs) with the nargs values at L[base + i * nargs ...] in
   threads[i] (reset first), i = 0..n-1, calling hook(context, i) before each. Stops at the first
   resume that does not return: returns its status, sets *stopped to its index and *nresults to
   what it left on its thread (yielded values; an error is left as loom_resume leaves it). LUA_OK
   and *stopped = n when every handler returned. Never raises. */
int loom_run_batch(lua_State *L, lua_State *const *threads, const int *handlers, int base, int n, int nargs,
                   LoomBatchHook hook, void *context, int *stopped, int *nresults);

/* ---- the node's mail (mail.c) ---- */

/* Messages between agents kept in the VM: one ring of copies in arrival order, per-slot flags
   the host sets, and delivery in C. Slots are numbered from 1 by the host. */
typedef struct LoomMail LoomMail;
enum { LOOM_MAIL_OPEN = 1, LOOM_MAIL_READY = 2 };
/* What loom_mail_deliver returns besides a Lua status of a handler that yielded or failed. */
enum { LOOM_MAIL_IDLE = -1, LOOM_MAIL_DIVERT = -2 };

LoomMail *loom_mail_new(lua_State *L, const char *node, int capacity);
void loom_mail_free(lua_State *L, LoomMail *m);
/* Names a slot (sends to the name take this path) and opens it; unregister removes the name. */
int loom_mail_register_p(lua_State *L, LoomMail *m, int id, const char *name, size_t length);
int loom_mail_unregister_p(lua_State *L, LoomMail *m, int id, const char *name, size_t length);
/* OPEN: sends may queue for it. READY: delivery may run `handler` (a registry ref) for it now. */
void loom_mail_set_flags(LoomMail *m, int id, int flags, int handler);
void loom_mail_clear_ready(LoomMail *m, int id);
/* How many messages wait for the slot on the host's side (they count against the capacity). */
void loom_mail_set_backlog(LoomMail *m, int id, int count);
int loom_mail_queued(const LoomMail *m, int id);
size_t loom_mail_pending(const LoomMail *m);
/* Handlers run from the mail so far. */
long long loom_mail_total(const LoomMail *m);
/* The slot whose handler runs now (0: none); sends name it as their sender. */
int loom_mail_current(const LoomMail *m);
void loom_mail_set_current(LoomMail *m, int id);
/* The `send` lua_CFunction: upvalues (LoomMail lightuserdata, the host's send for other cases). */
int loom_mail_send(lua_State *L);
/* Pushes loom_mail_send closed over m and the host's send (a registry ref), protected. */
int loom_mail_send_function_p(lua_State *L, LoomMail *m, int fallback);
/* Delivers up to max messages. Returns LOOM_MAIL_IDLE (nothing left, or max reached),
   LOOM_MAIL_DIVERT (the head message's receiver, *slot, is not ready: take its messages with
   loom_mail_take or make the slot ready), or the status of the handler of *slot that yielded
   (LUA_YIELD, *nresults values on its coroutine) or failed (the error as loom_resume leaves it);
   that coroutine is pushed on L and belongs to the caller (LUA_ERRMEM before any handler ran
   pushes nothing). *delivered counts the handlers run. Never raises. */
int loom_mail_deliver(lua_State *L, LoomMail *m, int max, int *delivered, int *slot, int *nresults);
/* Finds slot id's next message in order, scanning from *cursor (start at 0; the same cursor
   continues): pushes its payload and its sender's name and sets *position, leaving the message in
   place. 1, 0 when there is none left, -1 when the stack cannot grow. loom_mail_taken then removes
   it: a caller that cannot use a message leaves it queued. */
int loom_mail_take(lua_State *L, LoomMail *m, int id, size_t *cursor, size_t *position);
void loom_mail_taken(lua_State *L, LoomMail *m, size_t position);
/* The slots that ran handlers since the last call (each once). */
int loom_mail_touched(LoomMail *m, const int **ids);

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
/* Many handlers in one entry: open once (returns whether this is the outermost entry), renew the
   deadline and the instruction budget before each handler's loom_resume (each gets the whole
   budget; the watchdog interrupts the one running), close once with open's result. */
int loom_entry_open(lua_State *L);
void loom_entry_renew(lua_State *L);
void loom_entry_close(lua_State *L, int outermost);
/* Resumes coroutine co from the host under the same budget rules as loom_pcall. */
int loom_resume(lua_State *L, lua_State *co, int nargs, int *nresults);

/* ---- The sandbox -------------------------------------------------------------------------- */

/* Pushes a new sandbox environment: its own globals, reading the shared read-only libraries. */
int loom_new_env_p(lua_State *L);
/* Pushes the table of base names (functions and library proxies) every sandbox environment sees. */
void loom_push_sandbox_base(lua_State *L);
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
int loom_tostring_p(lua_State *L, int idx);           /* luaL_tolstring: pushes a string */
int loom_getfield_p(lua_State *L, int idx, const char *k); /* t[k] with metamethods */
int loom_newthread_p(lua_State *L, lua_State **thread);
/* Pushes the formatted message "bad argument #arg to 'fname' (msg)", protected. */
int loom_push_argerror_p(lua_State *L, int arg, const char *fname, const char *msg);

/* ---- Macro wrappers ----------------------------------------------------------------------- */

static inline void loom_pop(lua_State *L, int n) { lua_settop(L, -(n) - 1); }
static inline int loom_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline int loom_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int loom_noref(void) { return LUA_NOREF; }
static inline int loom_refnil(void) { return LUA_REFNIL; }
static inline int loom_multret(void) { return LUA_MULTRET; }
static inline void loom_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcclosure(L, f, 0); }
static inline void loom_insert(lua_State *L, int idx) { lua_rotate(L, idx, 1); }
static inline void loom_remove(lua_State *L, int idx) { lua_rotate(L, idx, -1); lua_settop(L, -2); }
static inline void loom_replace(lua_State *L, int idx) { lua_copy(L, -1, idx); lua_settop(L, -2); }
static inline int loom_isnoneornil(lua_State *L, int idx) { return lua_type(L, idx) <= 0; }
static inline lua_Integer loom_tointegerx(lua_State *L, int idx, int *isnum) { return lua_tointegerx(L, idx, isnum); }
static inline lua_Number loom_tonumberx(lua_State *L, int idx, int *isnum) { return lua_tonumberx(L, idx, isnum); }
static inline int loom_isinteger(lua_State *L, int idx) { return lua_isinteger(L, idx); }
/* Only for values whose type is LUA_TSTRING: then it never allocates. */
static inline const char *loom_tolstring(lua_State *L, int idx, size_t *len) { return lua_tolstring(L, idx, len); }
static inline void loom_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
static inline int loom_rawgeti_registry(lua_State *L, int ref) { return lua_rawgeti(L, LUA_REGISTRYINDEX, (lua_Integer)ref); }
/* A full garbage collection (finalizers run protected, host ones under a deadline). */
static inline void loom_gc_collect(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }

/* ---- Benchmark baselines (raw C API, same process) ---------------------------------------- */

/* Calls the registry function ref(i, 2) iterations times the way a careful C host does
   (traceback handler, lua_pcall, read an integer). Returns the sum of the results. */
lua_Integer loom_bench_c_calls(lua_State *L, int ref, lua_Integer iterations);
/* A C function add(a, b) for the Lua-to-C baseline. */
int loom_bench_c_add(lua_State *L);
/* Runs the function on top (no arguments) with plain lua_pcall: no handler, no budget. */
int loom_bench_raw_pcall(lua_State *L);
/* Resumes a list of handlers with {a = 1, b = 2, c = 3} from C, as the runtime does from Swift;
   with copy, each message is a copy of one table made as `send` copies (see trampoline.c). */
lua_Integer loom_bench_c_messages(lua_State *L, int handlers, lua_Integer agents, lua_Integer messages, int copy);

#endif
