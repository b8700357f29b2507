/*
 * math.random and math.randomseed with one generator per environment.
 *
 * Lua's math library keeps one generator per state: in a node, every skill and agent would draw
 * from the same sequence, so one script could seed it (or watch four outputs of xoshiro256**) and
 * know another's numbers. Here each environment (the _ENV of the Lua function that calls) has its
 * own generator, made on first use and seeded from the operating system's entropy; the generators
 * live in a weak-keyed registry table, so they go with their environment. A caller with no _ENV
 * (a function that uses no globals) keys its generator by the function itself, and a coroutine
 * whose body is a C function by the coroutine: neither shares with anyone.
 *
 * The algorithm, the seeding and the projection into a range are Lua 5.4's (xoshiro256**), so
 * `math.randomseed(n)` gives the same numbers as stock Lua.
 */
#define _GNU_SOURCE
#include "CLuaShim.h"
#include "shim_internal.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static char generators_key;

typedef struct { uint64_t s[4]; } Generator;

static uint64_t rotl(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

static uint64_t next_random(Generator *g) {
    uint64_t *s = g->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void set_seed(Generator *g, uint64_t n1, uint64_t n2) {
    g->s[0] = n1;
    g->s[1] = 0xff;   /* avoids a zero state */
    g->s[2] = n2;
    g->s[3] = 0;
    for (int i = 0; i < 16; i++) next_random(g);   /* spreads the seed, as Lua does */
}

static void seed_from_system(Generator *g, uint64_t out[2]) {
    uint64_t seed[2] = {0, 0};
    if (getrandom(seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed[0] ^= (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)g;
        seed[1] ^= (uint64_t)time(NULL) ^ (uint64_t)ts.tv_sec << 32;
    }
    set_seed(g, seed[0], seed[1]);
    if (out) { out[0] = seed[0]; out[1] = seed[1]; }
}

/* Pushes the key of the caller's generator: the _ENV of the nearest Lua function on the stack (an
   active local named _ENV first, as the compiler resolves it, else its _ENV upvalue), or that
   function itself, or the running thread. */
static void push_generator_key(lua_State *L) {
    lua_Debug ar;
    for (int level = 1; level < 16 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sf", &ar)) return (void)lua_pushthread(L);
        if (ar.what[0] == 'C') { lua_pop(L, 1); continue; }
        int function = lua_gettop(L);
        int found = loom_push_frame_env(L, &ar, function);
        if (found && (lua_type(L, -1) == LUA_TTABLE || lua_type(L, -1) == LUA_TUSERDATA)) {
            lua_remove(L, function);
            return;
        }
        lua_settop(L, function);   /* no usable _ENV: the function is the key */
        return;
    }
    lua_pushthread(L);
}

/* The caller's generator, made and seeded on first use. */
static Generator *generator(lua_State *L) {
    luaL_checkstack(L, 8, "math.random");
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &generators_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 4);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &generators_key);
    }
    int table = lua_gettop(L);
    push_generator_key(L);
    lua_pushvalue(L, -1);
    Generator *g;
    if (lua_rawget(L, table) == LUA_TUSERDATA) {
        g = (Generator *)lua_touserdata(L, -1);
        lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
        g = (Generator *)lua_newuserdatauv(L, sizeof *g, 0);
        seed_from_system(g, NULL);
        lua_rawset(L, table);   /* key (still on the stack) -> generator */
        lua_pushnil(L);          /* keep the pops below balanced */
    }
    lua_settop(L, table - 1);
    return g;
}

static double to_double(uint64_t x) {
    return (double)(x >> 11) * 0x1.0p-53;
}

/* Projects a random integer into [0, n], as Lua 5.4 does. */
static uint64_t project(uint64_t ran, uint64_t n, Generator *g) {
    if ((n & (n + 1)) == 0) return ran & n;
    uint64_t lim = n;
    lim |= (lim >> 1); lim |= (lim >> 2); lim |= (lim >> 4);
    lim |= (lim >> 8); lim |= (lim >> 16); lim |= (lim >> 32);
    while ((ran &= lim) > n) ran = next_random(g);
    return ran;
}

int loom_math_random(lua_State *L) {
    lua_Integer low, up;
    int args = lua_gettop(L);
    Generator *g = generator(L);
    uint64_t rv = next_random(g);
    switch (args) {
        case 0:
            lua_pushnumber(L, (lua_Number)to_double(rv));
            return 1;
        case 1:
            low = 1;
            up = luaL_checkinteger(L, 1);
            if (up == 0) {
                lua_pushinteger(L, (lua_Integer)rv);
                return 1;
            }
            break;
        case 2:
            low = luaL_checkinteger(L, 1);
            up = luaL_checkinteger(L, 2);
            break;
        default:
            return luaL_error(L, "wrong number of arguments");
    }
    luaL_argcheck(L, low <= up, 1, "interval is empty");
    uint64_t p = project(rv, (uint64_t)up - (uint64_t)low, g);
    lua_pushinteger(L, (lua_Integer)(p + (uint64_t)low));
    return 1;
}

int loom_math_randomseed(lua_State *L) {
    int args = lua_gettop(L);
    lua_Integer n1 = 0, n2 = 0;
    if (args > 0) {
        n1 = luaL_checkinteger(L, 1);
        n2 = luaL_optinteger(L, 2, 0);
    }
    Generator *g = generator(L);
    if (args == 0) {
        uint64_t seed[2];
        seed_from_system(g, seed);
        n1 = (lua_Integer)seed[0];
        n2 = (lua_Integer)seed[1];
    } else {
        set_seed(g, (uint64_t)n1, (uint64_t)n2);
    }
    lua_pushinteger(L, n1);
    lua_pushinteger(L, n2);
    return 2;
}
