/*
 * The raw-C baselines of `loom bench lua` and `loom bench runtime`: what a careful C host does with
 * the same Lua state, in the same process, so that each benchmark prints a ratio against it.
 */
#include "CLoomBench.h"

#include <lauxlib.h>

static int bench_msgh(lua_State *L) {
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

lua_Integer loom_bench_c_calls(lua_State *L, int ref, lua_Integer iterations) {
    lua_Integer sum = 0;
    for (lua_Integer i = 0; i < iterations; i++) {
        int base = lua_gettop(L) + 1;
        lua_pushcfunction(L, bench_msgh);
        lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
        lua_pushinteger(L, i);
        lua_pushinteger(L, 2);
        if (lua_pcall(L, 2, 1, base) != LUA_OK) {
            lua_settop(L, base - 1);
            return -1;
        }
        sum += lua_tointegerx(L, -1, NULL);
        lua_settop(L, base - 1);
    }
    return sum;
}

int loom_bench_c_add(lua_State *L) {
    lua_Integer a = luaL_checkinteger(L, 1);
    lua_Integer b = luaL_checkinteger(L, 2);
    lua_pushinteger(L, a + b);
    return 1;
}

int loom_bench_raw_pcall(lua_State *L) {
    return lua_pcall(L, 0, 0, 0);
}


static void push_message(lua_State *L) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, 1); lua_setfield(L, -2, "a");
    lua_pushinteger(L, 2); lua_setfield(L, -2, "b");
    lua_pushinteger(L, 3); lua_setfield(L, -2, "c");
}

/* The runtime baseline: resumes handlers[i % agents + 1] (a Lua list) with a fresh
   {a = 1, b = 2, c = 3}, in one reused coroutine, `messages` times. With `copy`, the table is
   built once and each message is a copy of it made as `send` makes one (what isolation costs).
   Runs protected. */
static int bench_messages_k(lua_State *L) {
    lua_Integer agents = lua_tointeger(L, 2), messages = lua_tointeger(L, 3);
    int copy = lua_toboolean(L, 4);
    lua_Integer failures = 0;
    push_message(L);
    int original = lua_gettop(L);
    lua_State *co = lua_newthread(L);
    for (lua_Integer i = 0; i < messages; i++) {
        lua_resetthread(co);
        lua_rawgeti(L, 1, (i % agents) + 1);
        if (copy) loom_mail_copy(L, original, 1u << 20); else push_message(L);
        lua_xmove(L, co, 2);
        int nres = 0;
        if (lua_resume(co, L, 1, &nres) != LUA_OK) failures++;
        lua_settop(co, 0);
    }
    lua_pushinteger(L, failures);
    return 1;
}

lua_Integer loom_bench_c_messages(lua_State *L, int handlers, lua_Integer agents, lua_Integer messages, int copy) {
    int base = lua_gettop(L);
    lua_pushcfunction(L, bench_messages_k);
    lua_rawgeti(L, LUA_REGISTRYINDEX, handlers);
    lua_pushinteger(L, agents);
    lua_pushinteger(L, messages);
    lua_pushboolean(L, copy);
    lua_Integer failures = -1;
    if (loom_pcall(L, 4, 1) == LUA_OK) failures = lua_tointeger(L, -1);
    lua_settop(L, base);
    return failures;
}

/* ---- the floor of a round trip between two threads ---------------------------------------------
   A request handed to another thread and its reply handed back, with a mutex and two condition
   variables, as a host's ask hops onto a node's queue and back when neither thread is spinning:
   two thread wake-ups. `out` gets each round trip's nanoseconds. Returns 0, or -1 when the
   thread cannot start. */

#include <pthread.h>
#include <time.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t asked, answered;
    long long request, reply;
    int stop;
} PingPong;

static void *pingpong_server(void *arg) {
    PingPong *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->request == p->reply && !p->stop) pthread_cond_wait(&p->asked, &p->lock);
        if (p->stop) break;
        p->reply = p->request;
        pthread_cond_signal(&p->answered);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static long long pingpong_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int loom_bench_thread_round_trips(long long *out, int count) {
    PingPong p = { .request = 0, .reply = 0, .stop = 0 };
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.asked, NULL);
    pthread_cond_init(&p.answered, NULL);
    pthread_t server;
    if (pthread_create(&server, NULL, pingpong_server, &p) != 0) return -1;
    for (int i = 0; i < count; i++) {
        long long start = pingpong_now();
        pthread_mutex_lock(&p.lock);
        p.request++;
        pthread_cond_signal(&p.asked);
        while (p.reply != p.request) pthread_cond_wait(&p.answered, &p.lock);
        pthread_mutex_unlock(&p.lock);
        out[i] = pingpong_now() - start;
    }
    pthread_mutex_lock(&p.lock);
    p.stop = 1;
    pthread_cond_signal(&p.asked);
    pthread_mutex_unlock(&p.lock);
    pthread_join(server, NULL);
    pthread_cond_destroy(&p.asked);
    pthread_cond_destroy(&p.answered);
    pthread_mutex_destroy(&p.lock);
    return 0;
}
