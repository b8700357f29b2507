/*
 * CLoomBench: the raw-C baselines the benchmarks compare Loom against (see docs/BENCHMARKS.md).
 * Linked only into LoomBench; no library a user of Loom builds on contains them.
 */
#ifndef LOOM_CLOOMBENCH_H
#define LOOM_CLOOMBENCH_H

#include "CLoomMail.h"

/* Calls the registry function ref(i, 2) iterations times the way a careful C host does
   (traceback handler, lua_pcall, read an integer). Returns the sum of the results. */
lua_Integer loom_bench_c_calls(lua_State *L, int ref, lua_Integer iterations);
/* A C function add(a, b) for the Lua-to-C baseline. */
int loom_bench_c_add(lua_State *L);
/* Runs the function on top (no arguments) with plain lua_pcall: no handler, no budget. */
int loom_bench_raw_pcall(lua_State *L);
/* Resumes a list of handlers with {a = 1, b = 2, c = 3} from C, as the runtime does from Swift;
   with copy, each message is a copy of one table made as `send` copies (loom_mail_copy). */
lua_Integer loom_bench_c_messages(lua_State *L, int handlers, lua_Integer agents, lua_Integer messages, int copy);
/* Times `count` round trips of a request to another thread and its reply back (a mutex, two
   condition variables: two thread wake-ups each), in nanoseconds into `out`. The floor of any
   request that crosses to another thread and back without spinning. Returns 0, or -1. */
int loom_bench_thread_round_trips(long long *out, int count);

#endif
