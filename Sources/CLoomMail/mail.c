/*
 * The node's mail: messages between agents kept inside the VM.
 *
 * `send` from an agent copies the message into a new Lua table (messages are copied, never
 * shared) and appends it to one ring of the node's pending messages, in order. Delivery runs in C:
 * for each message whose receiver is ready (idle, active, nothing older waiting for it on the
 * host's side), it resets a reusable coroutine, pushes the handler, the copy and the sender's name,
 * and resumes it. One delivery call is one entry into Lua (loom_entry_open), and the deadline and
 * instruction budget are renewed before each handler (loom_entry_renew), so each handler gets the
 * whole budget and the watchdog stops only the one running. A message never becomes a host value on
 * this path. The host decides readiness and is asked only when a receiver is not ready (the
 * message is then handed over, "diverted"), and when a handler yields or fails.
 */
#include "CLoomMail.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

struct LoomMail {
    int ring_ref;   /* payloads: ring position + 1 -> the copied message */
    int names_ref;  /* agent name -> slot id */
    int from_ref;   /* slot id -> agent name */
    int thread_ref; /* the reusable delivery coroutine, or LUA_NOREF */
    lua_State *thread;
    int dispatch_ref; /* the dispatcher function the coroutine runs */
    /* One delivery run: what is left of its budget, how many ran, why it stopped, whose handler
       runs now. */
    int budget, ran, stop, stop_slot, running;
    int *q_slot, *q_from;
    size_t q_cap, head, count;
    int slots;      /* capacity of the per-slot arrays */
    int *handler, *queued, *backlog;
    unsigned char *flags;
    unsigned *mark;
    unsigned epoch;
    int *touched;
    int ntouched;
    int capacity;
    int current;
    long long total;
    size_t max_values;
    char node[128];
};

static void new_table_ref(lua_State *L, int *ref) {
    lua_newtable(L);
    *ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static int mail_new_k(lua_State *L) {
    LoomMail *m = (LoomMail *)lua_touserdata(L, 1);
    new_table_ref(L, &m->ring_ref);
    new_table_ref(L, &m->names_ref);
    new_table_ref(L, &m->from_ref);
    return 0;
}

LoomMail *loom_mail_new(lua_State *L, const char *node, int capacity) {
    LoomMail *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ring_ref = m->names_ref = m->from_ref = m->thread_ref = m->dispatch_ref = LUA_NOREF;
    m->capacity = capacity;
    m->max_values = 1u << 20;
    m->epoch = 1;
    snprintf(m->node, sizeof m->node, "%s", node);
    if (!lua_checkstack(L, 3)) { free(m); return NULL; }
    lua_pushcfunction(L, mail_new_k);
    lua_pushlightuserdata(L, m);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_pop(L, 1);
        free(m);
        return NULL;
    }
    return m;
}

void loom_mail_free(lua_State *L, LoomMail *m) {
    if (!m) return;
    if (L) {
        luaL_unref(L, LUA_REGISTRYINDEX, m->ring_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, m->names_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, m->from_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, m->thread_ref);
        luaL_unref(L, LUA_REGISTRYINDEX, m->dispatch_ref);
    }
    free(m->q_slot); free(m->q_from);
    free(m->handler); free(m->queued); free(m->backlog); free(m->flags); free(m->mark); free(m->touched);
    free(m);
}

static int grow_slots(LoomMail *m, int id) {
    if (id < m->slots) return 1;
    int n = m->slots ? m->slots : 64;
    while (n <= id) n *= 2;
#define GROW(field, type) do { \
        type *p = realloc(m->field, sizeof(type) * (size_t)n); \
        if (!p) return 0; \
        memset(p + m->slots, 0, sizeof(type) * (size_t)(n - m->slots)); \
        m->field = p; \
    } while (0)
    GROW(handler, int); GROW(queued, int); GROW(backlog, int); GROW(flags, unsigned char); GROW(mark, unsigned);
    GROW(touched, int);
#undef GROW
    for (int i = m->slots; i < n; i++) m->handler[i] = LUA_NOREF;
    m->slots = n;
    return 1;
}

/* names[name] = id, from[id] = name (or removes both when id is 0 for the name). */
static int register_k(lua_State *L) {
    LoomMail *m = (LoomMail *)lua_touserdata(L, 1);
    int id = (int)lua_tointeger(L, 2);
    int remove = lua_toboolean(L, 4);
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->names_ref);
    lua_pushvalue(L, 3);
    if (remove) lua_pushnil(L); else lua_pushinteger(L, id);
    lua_rawset(L, -3);
    /* The slot's name stays for its number (numbers are never reused): messages it sent before it
       went still name their sender. */
    if (!remove) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, m->from_ref);
        lua_pushvalue(L, 3);
        lua_rawseti(L, -2, id);
    }
    return 0;
}

static int register_name(lua_State *L, LoomMail *m, int id, const char *name, size_t length, int remove) {
    if (!lua_checkstack(L, 6)) return LUA_ERRMEM;
    lua_pushcfunction(L, register_k);
    lua_pushlightuserdata(L, m);
    lua_pushinteger(L, id);
    lua_pushlstring(L, name, length);
    lua_pushboolean(L, remove);
    int status = lua_pcall(L, 4, 0, 0);
    if (status != LUA_OK) lua_pop(L, 1);
    return status;
}

int loom_mail_register_p(lua_State *L, LoomMail *m, int id, const char *name, size_t length) {
    if (id <= 0 || !grow_slots(m, id)) return LUA_ERRMEM;
    m->flags[id] = LOOM_MAIL_OPEN;
    return register_name(L, m, id, name, length, 0);
}

int loom_mail_unregister_p(lua_State *L, LoomMail *m, int id, const char *name, size_t length) {
    if (id <= 0 || id >= m->slots) return LUA_OK;
    m->flags[id] = 0;
    m->handler[id] = LUA_NOREF;
    return register_name(L, m, id, name, length, 1);
}

void loom_mail_set_flags(LoomMail *m, int id, int flags, int handler) {
    if (id <= 0 || id >= m->slots) return;
    m->flags[id] = (unsigned char)flags;
    m->handler[id] = handler;
}

void loom_mail_clear_ready(LoomMail *m, int id) {
    if (id > 0 && id < m->slots) m->flags[id] &= (unsigned char)~LOOM_MAIL_READY;
}

void loom_mail_set_backlog(LoomMail *m, int id, int count) {
    if (id > 0 && id < m->slots) m->backlog[id] = count;
}

int loom_mail_queued(const LoomMail *m, int id) { return (id > 0 && id < m->slots) ? m->queued[id] : 0; }
size_t loom_mail_pending(const LoomMail *m) { return m->count; }
long long loom_mail_total(const LoomMail *m) { return m->total; }
int loom_mail_current(const LoomMail *m) { return m->current; }
void loom_mail_set_current(LoomMail *m, int id) { m->current = id; }

/* ---- send ------------------------------------------------------------------------------------ */

static void copy_value(lua_State *L, size_t max_values, int index, int depth, size_t *values);

static inline int scalar(int type) {
    return type == LUA_TSTRING || type == LUA_TNUMBER || type == LUA_TBOOLEAN;
}

static void copy_table(lua_State *L, size_t max_values, int index, int depth, size_t *values) {
    /* 100 tables at most, the same limit as the host's conversion (a message moved to a host
       mailbox must convert). */
    if (depth >= 100) luaL_error(L, "send: the message nests more than 100 tables deep (is there a cycle?)");
    luaL_checkstack(L, 6, "copying a message");
    lua_Unsigned n = lua_rawlen(L, index);
    lua_createtable(L, n > 1 << 20 ? 0 : (int)n, n ? 0 : 4);
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        if (++*values > max_values) luaL_error(L, "send: the message holds more than %d values", (int)max_values);
        if (scalar(lua_type(L, -1)) && scalar(lua_type(L, -2))) {
            /* Strings are immutable and numbers values: the pair itself is the copy. */
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, copy);
            continue;
        }
        int pair = lua_gettop(L);
        copy_value(L, max_values, pair - 1, depth + 1, values);
        copy_value(L, max_values, pair, depth + 1, values);
        lua_rawset(L, copy);
        lua_settop(L, pair - 1);
    }
}

static void copy_value(lua_State *L, size_t max_values, int index, int depth, size_t *values) {
    if (++*values > max_values) luaL_error(L, "send: the message holds more than %d values", (int)max_values);
    switch (lua_type(L, index)) {
    case LUA_TNIL: case LUA_TBOOLEAN: case LUA_TNUMBER: case LUA_TSTRING:
        lua_pushvalue(L, index);
        break;
    case LUA_TTABLE:
        copy_table(L, max_values, lua_absindex(L, index), depth, values);
        break;
    default:
        luaL_error(L, "send: a message cannot hold a %s (only nil, booleans, numbers, strings and tables are copied)",
                   luaL_typename(L, index));
    }
}

void loom_mail_copy(lua_State *L, int index, size_t max_values) {
    size_t values = 0;
    copy_value(L, max_values, lua_absindex(L, index), 0, &values);
}

/* Doubles the ring in place: the wrapped part (positions 0..head-1) moves after the old end, so
   the same Lua table keeps every payload and the order holds. */
static int grow_ring(lua_State *L, LoomMail *m, int ring) {
    size_t old = m->q_cap, cap = old ? old * 2 : 1024;
    int *slot = realloc(m->q_slot, sizeof(int) * cap);
    if (!slot) return 0;
    m->q_slot = slot;
    int *from = realloc(m->q_from, sizeof(int) * cap);
    if (!from) return 0;
    m->q_from = from;
    if (old > 0) {
        /* Copy every wrapped payload first (this can raise: out of memory leaves the ring as it
           was, the copies beyond the old end unused), then clear the old places (never allocates). */
        for (size_t i = 0; i < m->head; i++) {
            m->q_slot[old + i] = m->q_slot[i];
            m->q_from[old + i] = m->q_from[i];
            lua_rawgeti(L, ring, (lua_Integer)i + 1);
            lua_rawseti(L, ring, (lua_Integer)(old + i) + 1);
        }
        for (size_t i = 0; i < m->head; i++) {
            lua_pushnil(L);
            lua_rawseti(L, ring, (lua_Integer)i + 1);
        }
    }
    m->q_cap = cap;
    return 1;
}

/* send(to, msg): upvalues 1 the LoomMail, 2 the host's send for everything else, 3 the names,
   4 the ring. */
/* The `send` lua_CFunction: upvalues (LoomMail lightuserdata, the host's send for other cases). */
static int loom_mail_send(lua_State *L) {
    LoomMail *m = (LoomMail *)lua_touserdata(L, lua_upvalueindex(1));
    const char *to = luaL_checkstring(L, 1);
    int id = 0;
    if (m->current > 0) {
        lua_pushvalue(L, 1);
        if (lua_rawget(L, lua_upvalueindex(3)) == LUA_TNUMBER) id = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    if (id <= 0 || id >= m->slots || !(m->flags[id] & LOOM_MAIL_OPEN)) {
        /* Another node, the host, a dormant instance not created yet, a stopped agent: the host decides. */
        lua_settop(L, 2);
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_insert(L, 1);
        lua_call(L, 2, LUA_MULTRET);
        return lua_gettop(L);
    }
    if (m->queued[id] + m->backlog[id] >= m->capacity) {
        lua_pushnil(L);
        lua_pushfstring(L, "mailbox of '%s/%s' is full (%d messages)", m->node, to, m->capacity);
        return 2;
    }
    lua_settop(L, 2);
    loom_mail_copy(L, 2, m->max_values);
    if (m->count == m->q_cap && !grow_ring(L, m, lua_upvalueindex(4)))
        luaL_error(L, "send: not enough memory for the message queue");
    size_t p = m->head + m->count;
    if (p >= m->q_cap) p -= m->q_cap;
    lua_rawseti(L, lua_upvalueindex(4), (lua_Integer)p + 1);
    m->q_slot[p] = id;
    m->q_from[p] = m->current;
    m->count++;
    m->queued[id]++;
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- delivery -------------------------------------------------------------------------------- */

int loom_mail_take(lua_State *L, LoomMail *m, int id, size_t *cursor, size_t *position) {
    if (!lua_checkstack(L, 6)) return -1;
    while (*cursor < m->count) {
        size_t p = (m->head + *cursor) % m->q_cap;
        (*cursor)++;
        if (m->q_slot[p] != id) continue;
        *position = p;
        lua_rawgeti(L, LUA_REGISTRYINDEX, m->ring_ref);
        lua_rawgeti(L, -1, (lua_Integer)p + 1);
        lua_remove(L, -2);
        lua_rawgeti(L, LUA_REGISTRYINDEX, m->from_ref);
        lua_rawgeti(L, -1, m->q_from[p]);
        lua_remove(L, -2);
        return 1;
    }
    return 0;
}

void loom_mail_taken(lua_State *L, LoomMail *m, size_t position) {
    int id = m->q_slot[position];
    if (id == 0) return;
    /* A tombstone stays in the ring; delivery skips it. */
    m->q_slot[position] = 0;
    m->queued[id]--;
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->ring_ref);
    lua_pushnil(L);
    lua_rawseti(L, -2, (lua_Integer)position + 1);
    lua_pop(L, 1);
}

int loom_mail_touched(LoomMail *m, const int **ids) {
    *ids = m->touched;
    int n = m->ntouched;
    m->ntouched = 0;
    m->epoch++;
    if (m->epoch == 0) {
        memset(m->mark, 0, sizeof(unsigned) * (size_t)m->slots);
        m->epoch = 1;
    }
    return n;
}

/* After a handler that yielded returns: the coroutine belongs to that handler now; it ends. */
static int dispatch_done(lua_State *co, int status, lua_KContext context) {
    (void)co; (void)status; (void)context;
    return 0;
}

/* The delivery coroutine's function: calls each ready receiver's handler with (copy, sender) in
   turn, in this one coroutine. A handler that returns leaves it for the next message; one that
   yields suspends the whole coroutine, which the host then keeps as that handler's (resuming it
   finishes the handler, then dispatch_done ends it); one that fails ends it with the error. */
static int dispatch(lua_State *co) {
    LoomMail *m = (LoomMail *)lua_touserdata(co, lua_upvalueindex(1));
    lua_settop(co, 0);
    lua_rawgeti(co, LUA_REGISTRYINDEX, m->ring_ref);
    lua_rawgeti(co, LUA_REGISTRYINDEX, m->from_ref);
    const int ring = 1, names = 2;
    while (m->budget > 0 && m->count > 0) {
        size_t p = m->head;
        int id = m->q_slot[p];
        if (id == 0) {   /* taken by the host (loom_mail_take) */
            m->head = (p + 1 == m->q_cap) ? 0 : p + 1;
            m->count--;
            continue;
        }
        if (!(m->flags[id] & LOOM_MAIL_READY) || m->handler[id] == LUA_NOREF) {
            m->stop = LOOM_MAIL_DIVERT;
            m->stop_slot = id;
            return 0;
        }
        luaL_checkstack(co, 4, "delivering a message");
        lua_rawgeti(co, LUA_REGISTRYINDEX, m->handler[id]);
        lua_rawgeti(co, ring, (lua_Integer)p + 1);
        lua_pushnil(co);
        lua_rawseti(co, ring, (lua_Integer)p + 1);
        lua_rawgeti(co, names, m->q_from[p]);
        m->head = (p + 1 == m->q_cap) ? 0 : p + 1;
        m->count--;
        m->queued[id]--;
        m->budget--;
        m->ran++;
        m->total++;
        if (m->mark[id] != m->epoch) {
            m->mark[id] = m->epoch;
            m->touched[m->ntouched++] = id;
        }
        m->current = m->running = id;
        loom_entry_renew(co);
        lua_callk(co, 2, 0, 0, dispatch_done);
        m->current = m->running = 0;
    }
    m->stop = LOOM_MAIL_IDLE;
    return 0;
}

static int dispatch_function_k(lua_State *L) {
    lua_pushcclosure(L, dispatch, 1);
    return 1;
}

int loom_mail_deliver(lua_State *L, LoomMail *m, int max, int *delivered, int *slot, int *nresults) {
    *delivered = 0;
    *slot = 0;
    *nresults = 0;
    if (m->count == 0) return LOOM_MAIL_IDLE;
    if (!lua_checkstack(L, 8)) return LUA_ERRMEM;
    int base = lua_gettop(L);
    if (m->dispatch_ref == LUA_NOREF) {
        lua_pushcfunction(L, dispatch_function_k);
        lua_pushlightuserdata(L, m);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK || loom_ref_p(L, &m->dispatch_ref) != LUA_OK) {
            lua_settop(L, base);
            return LUA_ERRMEM;
        }
    }
    /* A coroutine whose function returned starts the next function pushed on it: no reset. */
    lua_State *co = m->thread;
    if (!co) {
        if (loom_newthread_p(L, &co) != LUA_OK || loom_ref_p(L, &m->thread_ref) != LUA_OK) {
            lua_settop(L, base);
            return LUA_ERRMEM;
        }
        m->thread = co;
    }
    if (!lua_checkstack(co, 4)) return LUA_ERRMEM;
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->dispatch_ref);
    lua_xmove(L, co, 1);
    m->budget = max;
    m->ran = 0;
    m->stop = LOOM_MAIL_IDLE;
    m->stop_slot = 0;
    m->running = 0;
    /* One entry for the run; the dispatcher renews the deadline before each handler. */
    int outermost = loom_entry_open(L);
    int results = 0;
    int status = loom_resume(L, co, 0, &results);
    m->current = 0;
    *delivered = m->ran;
    if (status == LUA_OK) {
        lua_settop(co, 0);
        loom_entry_close(L, outermost);
        *slot = m->stop_slot;
        return m->stop;
    }
    /* A handler yielded or failed (or the dispatcher could not grow its stack: no handler): the
       coroutine is the caller's now. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->thread_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, m->thread_ref);
    m->thread_ref = LUA_NOREF;
    m->thread = NULL;
    *slot = m->running;
    m->running = 0;
    *nresults = results;
    loom_entry_close(L, outermost);
    return status;
}

static int send_function_k(lua_State *L) {
    /* 1: the LoomMail, 2: the host's send, 3: the names, 4: the ring */
    lua_pushcclosure(L, loom_mail_send, 4);
    return 1;
}

int loom_mail_send_function_p(lua_State *L, LoomMail *m, int fallback) {
    if (!lua_checkstack(L, 6)) return LUA_ERRMEM;
    lua_pushcfunction(L, send_function_k);
    lua_pushlightuserdata(L, m);
    lua_rawgeti(L, LUA_REGISTRYINDEX, fallback);
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->names_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, m->ring_ref);
    return lua_pcall(L, 4, 1, 0);
}
