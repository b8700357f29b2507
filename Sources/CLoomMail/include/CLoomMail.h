/*
 * CLoomMail: the runtime's message layer over CLuaShim, in C.
 *
 * 1. The node's mail (mail.c): messages between agents kept inside the VM, one ring of copies in
 *    arrival order, per-slot flags the host sets, and delivery that resumes handlers in C.
 * 2. Batched delivery (batch.c): plain values built from a flat list of operations in one protected
 *    call, and handlers resumed one after another in one entry.
 *
 * Every function here runs protected or never raises: like CLuaShim, this layer is C, so a Lua
 * error never crosses a Swift frame. Entries into Lua go through CLuaShim's budget
 * (loom_entry_open/renew/close), so every handler runs under the deadline and memory cap.
 */
#ifndef LOOM_CLOOMMAIL_H
#define LOOM_CLOOMMAIL_H

#include "CLuaShim.h"

/* ---- The node's mail (mail.c) ------------------------------------------------------------ */

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

/* Pushes a copy of the value at index, as `send` copies a message: tables copied to any depth below
   100, at most max_values values; functions, coroutines and userdata raise. Call it only inside a
   protected call (the runtime benchmark's C baseline does). */
void loom_mail_copy(lua_State *L, int index, size_t max_values);

/* ---- Batched delivery (batch.c) ---------------------------------------------------------- */

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

#endif
