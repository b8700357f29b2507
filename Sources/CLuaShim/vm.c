/*
 * The per-VM control block: the capped allocator, the budgets and the watchdog, the entries into
 * Lua (protected call, load, resume) and the traceback handler.
 *
 * Budgets. A count hook left on costs about as much as the loop it watches, so no hook is set while
 * a script runs inside its deadline. One watchdog thread per process scans the VMs that are inside
 * an entry every few milliseconds. When a deadline has passed it marks the VM stopped and sends
 * SIGURG to the thread running the entry. The signal handler, on that thread, arms a count hook
 * (count 1) on the running Lua thread and the main thread: lua_sethook is made to be called from a
 * signal handler (see ldebug.c). The hook raises on every instruction and call while the VM is
 * stopped, so pcall cannot swallow the stop. The entry's exit clears it.
 */
#define _GNU_SOURCE
#include "CLuaShim.h"
#include "shim_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOOM_INTERRUPT_SIGNAL SIGURG
#define WATCHDOG_TICK_NS 2000000L   /* 2 ms */
#define INSTRUCTION_STEP 1000

struct LoomVM {
    /* allocator (touched only by the thread running the VM) */
    size_t used;
    size_t limit;
    unsigned long refused;
    void *lg_block;                  /* the block holding the main thread; see loom_alloc */

    /* budgets */
    _Atomic int64_t deadline;        /* CLOCK_MONOTONIC_COARSE ns; 0 = not inside a timed entry */
    _Atomic int stop;                /* LoomStop */
    _Atomic int watchdog_busy;       /* set while the watchdog decides about this VM */
    int64_t timeout_ns;
    int64_t instruction_limit;
    int64_t instructions_left;
    int depth;                       /* nesting of host entries */
    unsigned long refused_at_entry;
    lua_State *_Atomic main;         /* NULL once the state is being freed */
    lua_State *main_plain;           /* the same, for the hot path (never read by the handler) */
    lua_State *_Atomic current;      /* the Lua thread running now, during an entry */
    pthread_t thread;                /* the OS thread running the outermost entry */
    struct LoomVM *outer_tls;        /* the VM this thread was running before this entry */

    /* error details, written by the message handler and the entries */
    LoomErrorInfo error;

    /* the watchdog's list */
    struct LoomVM *next, *prev;
};
typedef struct LoomVM LoomVM;

static _Thread_local LoomVM *_Atomic tls_vm;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The watchdog's clock, refreshed every tick: entries read it instead of the system clock. */
static _Atomic int64_t watchdog_now;

static int64_t entry_now(void) {
    int64_t now = atomic_load_explicit(&watchdog_now, memory_order_relaxed);
    return now != 0 ? now : now_ns();
}

/* The VM pointer lives in the main thread's extra space; new threads copy it. */
static inline LoomVM *vm_of(lua_State *L) {
    return *(LoomVM **)lua_getextraspace(L);
}

/* ---- allocator ---------------------------------------------------------------------------- */

static void *loom_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    LoomVM *vm = (LoomVM *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr) {
            if (ptr == vm->lg_block) {
                /* lua_close frees the main thread last: from here on nobody may arm it. */
                atomic_store(&vm->main, NULL);
                atomic_store(&vm->current, NULL);
            }
            vm->used -= old;
            free(ptr);
        }
        return NULL;
    }
    if (nsize > old && vm->limit != 0 && vm->used - old + nsize > vm->limit) {
        vm->refused++;
        return NULL;   /* Lua runs an emergency collection and tries again, then raises ERRMEM */
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) {
        if (nsize <= old) return ptr;  /* Lua assumes shrinking never fails */
        vm->refused++;
        return NULL;
    }
    if (ptr == NULL && osize == LUA_TTHREAD && vm->lg_block == NULL) vm->lg_block = block;
    vm->used = vm->used - old + nsize;
    return block;
}

/* ---- the hook and arming ------------------------------------------------------------------ */

static void loom_hook(lua_State *L, lua_Debug *ar);

static void arm(lua_State *L) {
    if (L) lua_sethook(L, loom_hook, LUA_MASKCALL | LUA_MASKCOUNT, 1);
}

/* On the VM's own thread: arms the running Lua thread and the main thread. */
static void arm_running(LoomVM *vm) {
    lua_State *current = atomic_load(&vm->current);
    lua_State *main = atomic_load(&vm->main);
    arm(current);
    if (main != current) arm(main);
}

static void loom_hook(lua_State *L, lua_Debug *ar) {
    LoomVM *vm = vm_of(L);
    int stop = atomic_load(&vm->stop);
    if (stop == LOOM_STOP_NONE && ar->event == LUA_HOOKCOUNT && vm->instruction_limit > 0 && vm->depth > 0) {
        vm->instructions_left -= INSTRUCTION_STEP;
        if (vm->instructions_left > 0) return;
        atomic_store(&vm->stop, LOOM_STOP_BUDGET);
        arm_running(vm);
        stop = LOOM_STOP_BUDGET;
    }
    if (stop != LOOM_STOP_NONE) {
        loom_raise_interrupted(L);
        return;
    }
    /* A hook left on a suspended coroutine by an earlier entry: take it off. */
    if (vm->instruction_limit == 0 || vm->depth == 0) lua_sethook(L, NULL, 0, 0);
}

int loom_interrupted(lua_State *L) {
    return atomic_load_explicit(&vm_of(L)->stop, memory_order_relaxed) != LOOM_STOP_NONE;
}

int loom_raise_interrupted(lua_State *L) {
    LoomVM *vm = vm_of(L);
    arm(L);  /* whatever catches this error is stopped at its next instruction */
    if (atomic_load(&vm->stop) == LOOM_STOP_BUDGET)
        return luaL_error(L, "instruction budget of %I exceeded", (LUAI_UACINT)vm->instruction_limit);
    return luaL_error(L, "deadline of %I ms exceeded", (LUAI_UACINT)(vm->timeout_ns / 1000000));
}

/* ---- the watchdog ------------------------------------------------------------------------- */

/* The exit of an entry and the watchdog hand over with an asymmetric Dekker handshake: the
   watchdog (rare, slow side) issues membarrier(2) between its store and its load, so the entry's
   exit (hot side) needs only a compiler barrier. Without membarrier both sides use full fences. */
static int have_membarrier = 0;

static void heavy_barrier(void) {
    if (!have_membarrier || syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
        atomic_thread_fence(memory_order_seq_cst);
}

static inline void light_barrier(void) {
    if (have_membarrier) atomic_signal_fence(memory_order_seq_cst);
    else atomic_thread_fence(memory_order_seq_cst);
}

static pthread_mutex_t watchdog_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watchdog_cond = PTHREAD_COND_INITIALIZER;
static LoomVM *watchdog_list = NULL;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

static void on_interrupt_signal(int signo) {
    (void)signo;
    int saved = errno;
    LoomVM *vm = atomic_load_explicit(&tls_vm, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    if (vm != NULL && atomic_load(&vm->stop) != LOOM_STOP_NONE) arm_running(vm);
    errno = saved;
}

static void *watchdog_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&watchdog_mutex);
    for (;;) {
        while (watchdog_list == NULL) {
            atomic_store(&watchdog_now, 0);
            pthread_cond_wait(&watchdog_cond, &watchdog_mutex);
        }
        int64_t now = now_ns();
        atomic_store_explicit(&watchdog_now, now, memory_order_relaxed);
        for (LoomVM *vm = watchdog_list; vm != NULL; vm = vm->next) {
            int64_t deadline = atomic_load_explicit(&vm->deadline, memory_order_acquire);
            if (deadline == 0 || now < deadline) continue;
            atomic_store_explicit(&vm->watchdog_busy, 1, memory_order_relaxed);
            heavy_barrier();
            if (atomic_load_explicit(&vm->deadline, memory_order_acquire) != 0) {
                int expected = LOOM_STOP_NONE;
                atomic_compare_exchange_strong(&vm->stop, &expected, LOOM_STOP_TIMEOUT);
                /* Re-signal every tick while still inside the entry: a C loop may take a while
                   to look, and the hook must be on whichever Lua thread runs by then. */
                pthread_kill(vm->thread, LOOM_INTERRUPT_SIGNAL);
            }
            atomic_store_explicit(&vm->watchdog_busy, 0, memory_order_release);
        }
        pthread_mutex_unlock(&watchdog_mutex);
        struct timespec tick = {0, WATCHDOG_TICK_NS};
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&watchdog_mutex);
    }
    return NULL;
}

static void watchdog_start(void) {
    if (syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) have_membarrier = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(LOOM_INTERRUPT_SIGNAL, &sa, NULL);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    /* The watchdog itself must never take the signal. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, LOOM_INTERRUPT_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_t thread;
    if (pthread_create(&thread, &attr, watchdog_main, NULL) != 0) {
        fprintf(stderr, "loom: cannot start the Lua watchdog thread; deadlines will not fire\n");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

static void watchdog_register(LoomVM *vm) {
    pthread_once(&watchdog_once, watchdog_start);
    pthread_mutex_lock(&watchdog_mutex);
    vm->prev = NULL;
    vm->next = watchdog_list;
    if (watchdog_list) watchdog_list->prev = vm;
    watchdog_list = vm;
    pthread_cond_signal(&watchdog_cond);
    pthread_mutex_unlock(&watchdog_mutex);
}

static void watchdog_unregister(LoomVM *vm) {
    pthread_mutex_lock(&watchdog_mutex);
    if (vm->prev) vm->prev->next = vm->next; else watchdog_list = vm->next;
    if (vm->next) vm->next->prev = vm->prev;
    pthread_mutex_unlock(&watchdog_mutex);
}

/* ---- the C stack ---------------------------------------------------------------------------- */

/* Lua counts nested C calls (200 at most) so that recursion stops before the C stack runs out, but
   Lua 5.4.4's lua_resetthread starts a closing coroutine's count at zero: coroutines closed from
   __close handlers nest without limit. The sandbox's coroutine functions look at the real stack
   instead: below STACK_RESERVE bytes from its end (enough for 200 C levels of Lua and a handler),
   they refuse to go deeper. */
#define STACK_RESERVE (384 * 1024)

static _Thread_local char *tls_stack_floor;
static _Thread_local int tls_stack_known;

int loom_stack_exhausted(void) {
    char probe;
    if (!tls_stack_known) {
        tls_stack_known = 1;
        pthread_attr_t attr;
        void *low = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            if (pthread_attr_getstack(&attr, &low, &size) != 0) low = NULL;
            pthread_attr_destroy(&attr);
        }
        /* A stack too small for the reserve gets half of itself as the floor. */
        size_t reserve = size > 2 * STACK_RESERVE ? STACK_RESERVE : size / 2;
        tls_stack_floor = low ? (char *)low + reserve : NULL;
    }
    return tls_stack_floor != NULL && &probe < tls_stack_floor;
}

/* ---- entries ------------------------------------------------------------------------------ */

/* The signal handler runs on this same thread, so plain (relaxed) stores with compiler fences are
   enough for it; the deadline store is a release so the watchdog sees vm->thread with it. */
static _Thread_local int tls_signal_ready;

/* Worker threads (libdispatch's among them) often block signals; the interrupt signal must reach
   whichever thread runs an entry. Done once per thread. */
static void prepare_thread_for_interrupts(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, LOOM_INTERRUPT_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    tls_signal_ready = 1;
}

static void begin_entry(LoomVM *vm, lua_State *L) {
    if (!tls_signal_ready) prepare_thread_for_interrupts();
    vm->outer_tls = atomic_load_explicit(&tls_vm, memory_order_relaxed);
    atomic_store_explicit(&tls_vm, vm, memory_order_relaxed);
    vm->thread = pthread_self();
    atomic_store_explicit(&vm->current, L, memory_order_relaxed);
    vm->refused_at_entry = vm->refused;
    if (vm->instruction_limit > 0) {
        vm->instructions_left = vm->instruction_limit;
        lua_sethook(L, loom_hook, LUA_MASKCOUNT, INSTRUCTION_STEP);
    }
    atomic_signal_fence(memory_order_seq_cst);
    if (vm->timeout_ns > 0)
        atomic_store_explicit(&vm->deadline, entry_now() + vm->timeout_ns, memory_order_release);
}

/* Returns the stop reason of the entry that ends. */
static int end_entry(LoomVM *vm, lua_State *L) {
    if (vm->timeout_ns > 0 || atomic_load_explicit(&vm->deadline, memory_order_relaxed) != 0) {
        atomic_store_explicit(&vm->deadline, 0, memory_order_relaxed);
        light_barrier();
        /* The watchdog may be deciding about this entry right now: let it finish, so that it never
           signals this thread once the entry is over. */
        while (atomic_load_explicit(&vm->watchdog_busy, memory_order_acquire)) { }
    }
    int stop = atomic_load_explicit(&vm->stop, memory_order_relaxed);
    if (stop != LOOM_STOP_NONE || vm->instruction_limit > 0) {
        lua_sethook(L, NULL, 0, 0);
        lua_State *main = atomic_load(&vm->main);
        if (main && main != L) lua_sethook(main, NULL, 0, 0);
        atomic_store(&vm->stop, LOOM_STOP_NONE);
    }
    atomic_store_explicit(&vm->current, NULL, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&tls_vm, vm->outer_tls, memory_order_relaxed);
    return stop;
}

static int ends_with(const char *s, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static int classify(LoomVM *vm, lua_State *L, int status, int stop) {
    if (status == LUA_OK) return LOOM_KIND_OK;
    if (status == LUA_ERRMEM) return LOOM_KIND_MEMORY;
    if (stop == LOOM_STOP_TIMEOUT) return LOOM_KIND_TIMEOUT;
    if (stop == LOOM_STOP_BUDGET) return LOOM_KIND_BUDGET;
    if (status == LUA_ERRSYNTAX) return LOOM_KIND_SYNTAX;
    if (vm->refused != vm->refused_at_entry && lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *msg = lua_tolstring(L, -1, &len);
        if (ends_with(msg, len, "not enough memory")) return LOOM_KIND_MEMORY;
    }
    return LOOM_KIND_RUNTIME;
}

static char traceback_key;

/* The message handler: records the first Lua frame's position and the traceback, and returns the
   error object unchanged (converting it is the entry's job, under the budget). */
static int loom_msgh(lua_State *L) {
    LoomVM *vm = vm_of(L);
    lua_Debug ar;
    vm->error.line = -1;
    vm->error.source[0] = '\0';
    for (int level = 1; level < 64 && lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            vm->error.line = ar.currentline;
            snprintf(vm->error.source, sizeof vm->error.source, "%s", ar.short_src);
            break;
        }
    }
    luaL_traceback(L, L, NULL, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &traceback_key);
    lua_settop(L, 1);
    return 1;
}

static int tostring_k(lua_State *L) {
    if (luaL_getmetafield(L, 1, "__tostring") == LUA_TNIL && lua_type(L, 1) != LUA_TNUMBER)
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    else
        luaL_tolstring(L, 1, NULL);
    return 1;
}

/* After an error: turns a non-string error object into a string (numbers as Lua prints them,
   objects with __tostring through it, protected and under the entry's budget, others as
   "(error object is a T value)", as lua.c does). When that fails, the raw object stays. */
static void stringify_error(lua_State *L) {
    int t = lua_type(L, -1);
    if (t == LUA_TSTRING || !lua_checkstack(L, 3)) return;
    lua_pushcclosure(L, tostring_k, 0);
    lua_pushvalue(L, -2);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
        lua_copy(L, -1, -2);
    }
    lua_settop(L, -2);
}

static void clear_traceback(lua_State *L) {
    lua_pushnil(L);   /* the key exists since loom_newstate: no allocation */
    lua_rawsetp(L, LUA_REGISTRYINDEX, &traceback_key);
}

int loom_pcall(lua_State *L, int nargs, int nresults) {
    LoomVM *vm = vm_of(L);
    int base = lua_gettop(L) - nargs;
    /* The main thread keeps the handler at index 1 (see loom_newstate): outermost calls there
       use it in place; other calls push their own below the function. */
    int handler = 1;
    int pushed = !(L == vm->main_plain && vm->depth == 0);
    if (pushed) {
        lua_pushcclosure(L, loom_msgh, 0);
        lua_rotate(L, base, 1);
        handler = base;
    }
    int outermost = (vm->depth++ == 0);
    lua_State *outer_current = NULL;
    if (outermost) begin_entry(vm, L);
    else {
        outer_current = atomic_load(&vm->current);
        atomic_store(&vm->current, L);
    }
    int status = lua_pcall(L, nargs, nresults, handler);
    if (status != LUA_OK) {
        int stop = atomic_load(&vm->stop);
        vm->error.kind = classify(vm, L, status, stop);
        if (status == LUA_ERRMEM) { vm->error.line = -1; vm->error.source[0] = '\0'; clear_traceback(L); }
        stringify_error(L);
    }
    if (outermost) end_entry(vm, L);
    else atomic_store_explicit(&vm->current, outer_current, memory_order_relaxed);
    vm->depth--;
    if (pushed) {
        lua_rotate(L, base, -1);
        lua_settop(L, -2);
    }
    return status;
}

static int coroutine_traceback_k(lua_State *L) {
    luaL_traceback(L, lua_tothread(L, 1), NULL, 0);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &traceback_key);
    return 0;
}

/* Records the traceback of a coroutine that failed (protected: it allocates). */
static void coroutine_traceback(lua_State *L, lua_State *co) {
    if (!lua_checkstack(L, 3)) return;
    lua_pushcclosure(L, coroutine_traceback_k, 0);
    lua_pushthread(co);
    lua_xmove(co, L, 1);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        lua_settop(L, -2);
        clear_traceback(L);
    }
}

int loom_resume(lua_State *L, lua_State *co, int nargs, int *nresults) {
    LoomVM *vm = vm_of(L);
    int outermost = (vm->depth++ == 0);
    lua_State *outer_current = NULL;
    if (outermost) begin_entry(vm, co);
    else {
        outer_current = atomic_load(&vm->current);
        atomic_store(&vm->current, co);
    }
    if (vm->instruction_limit > 0) lua_sethook(co, loom_hook, LUA_MASKCOUNT, INSTRUCTION_STEP);
    int status = lua_resume(co, L, nargs, nresults);
    int stop = atomic_load(&vm->stop);
    if (status != LUA_OK && status != LUA_YIELD) {
        vm->error.kind = classify(vm, co, status, stop);
        vm->error.line = -1;
        vm->error.source[0] = '\0';
        lua_Debug ar;
        for (int level = 0; level < 64 && lua_getstack(co, level, &ar); level++) {
            if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
                vm->error.line = ar.currentline;
                snprintf(vm->error.source, sizeof vm->error.source, "%s", ar.short_src);
                break;
            }
        }
        stringify_error(co);
        coroutine_traceback(L, co);
    }
    if (outermost) end_entry(vm, co);
    else atomic_store(&vm->current, outer_current);
    vm->depth--;
    return status;
}

/* ---- many handlers in one entry (the mail) ------------------------------------------------ */

int loom_entry_open(lua_State *L) {
    LoomVM *vm = vm_of(L);
    int outermost = (vm->depth++ == 0);
    if (outermost) begin_entry(vm, L);
    return outermost;
}

void loom_entry_renew(lua_State *L) {
    LoomVM *vm = vm_of(L);
    /* Close the previous handler's window as end_entry does: no deadline, and the watchdog done
       with it, so a stop meant for that handler (set late, or just as it returned) never reaches
       this one. */
    if (atomic_load_explicit(&vm->deadline, memory_order_relaxed) != 0) {
        atomic_store_explicit(&vm->deadline, 0, memory_order_relaxed);
        light_barrier();
        while (atomic_load_explicit(&vm->watchdog_busy, memory_order_acquire)) { }
    }
    if (atomic_load_explicit(&vm->stop, memory_order_relaxed) != LOOM_STOP_NONE) {
        lua_sethook(L, NULL, 0, 0);
        lua_State *main = atomic_load(&vm->main);
        if (main && main != L) lua_sethook(main, NULL, 0, 0);
        atomic_store(&vm->stop, LOOM_STOP_NONE);
        if (vm->instruction_limit > 0) lua_sethook(L, loom_hook, LUA_MASKCOUNT, INSTRUCTION_STEP);
    }
    vm->refused_at_entry = vm->refused;
    if (vm->instruction_limit > 0) vm->instructions_left = vm->instruction_limit;
    if (vm->timeout_ns > 0)
        atomic_store_explicit(&vm->deadline, entry_now() + vm->timeout_ns, memory_order_release);
}

void loom_entry_close(lua_State *L, int outermost) {
    LoomVM *vm = vm_of(L);
    if (outermost) end_entry(vm, L);
    vm->depth--;
}

int loom_load(lua_State *L, const char *bytes, size_t length, const char *chunkname, int env_index) {
    LoomVM *vm = vm_of(L);
    if (env_index < 0 && env_index > LUA_REGISTRYINDEX) env_index = lua_gettop(L) + env_index + 1;
    vm->error.line = -1;
    vm->error.source[0] = '\0';
    int status;
    if (length > 0 && bytes[0] == LUA_SIGNATURE[0]) {
        status = loom_pushlstring_p(L, "binary chunks are not allowed: load Lua source text", 51);
        if (status == LUA_OK) status = LUA_ERRSYNTAX;
    } else {
        /* The compile is an entry of its own (or part of the running one): the deadline reaches
           it between pieces of the source (see loom_compile). */
        int outermost = (vm->depth++ == 0);
        if (outermost) begin_entry(vm, L);
        int stopped = 0;
        status = loom_compile(L, bytes, length, chunkname, &stopped);
        int stop = atomic_load(&vm->stop);
        if (outermost) end_entry(vm, L);
        vm->depth--;
        if (stopped) {
            vm->error.kind = stop == LOOM_STOP_BUDGET ? LOOM_KIND_BUDGET : LOOM_KIND_TIMEOUT;
            clear_traceback(L);
            lua_settop(L, -2);
            const char *name = chunkname[0] == '@' || chunkname[0] == '=' ? chunkname + 1 : chunkname;
            char msg[LUA_IDSIZE + 96];
            int n = stop == LOOM_STOP_BUDGET
                ? snprintf(msg, sizeof msg, "%.*s: instruction budget exceeded while compiling", LUA_IDSIZE, name)
                : snprintf(msg, sizeof msg, "%.*s: deadline of %lld ms exceeded while compiling", LUA_IDSIZE, name,
                           (long long)(vm->timeout_ns / 1000000));
            if (n < 0) n = 0;
            if ((size_t)n >= sizeof msg) n = (int)sizeof msg - 1;
            return loom_pushlstring_p(L, msg, (size_t)n) == LUA_OK ? LUA_ERRRUN : LUA_ERRMEM;
        }
    }
    if (status != LUA_OK) {
        vm->error.kind = (status == LUA_ERRMEM) ? LOOM_KIND_MEMORY : LOOM_KIND_SYNTAX;
        clear_traceback(L);
        return status;
    }
    if (env_index != 0) {
        lua_pushvalue(L, env_index);
    } else {
        status = loom_new_env_p(L);
        if (status != LUA_OK) {
            vm->error.kind = LOOM_KIND_MEMORY;
            lua_rotate(L, -2, -1);
            lua_settop(L, -2);
            return status;
        }
    }
    if (lua_setupvalue(L, -2, 1) == NULL) lua_settop(L, -2);
    return LUA_OK;
}

void loom_last_error(lua_State *L, LoomErrorInfo *info) {
    *info = vm_of(L)->error;
}

void loom_push_last_traceback(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &traceback_key);
}

/* ---- states ------------------------------------------------------------------------------- */

static int loom_panic(lua_State *L) {
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(not a string)";
    fprintf(stderr, "loom: unprotected Lua error (a bug in Loom): %s\n", msg);
    return 0;  /* Lua aborts */
}

int loom_open_sandbox(lua_State *L);  /* sandbox.c */

static int init_state_k(lua_State *L) {
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);   /* kept out of the globals */
    lua_settop(L, 0);
    lua_pushliteral(L, "");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &traceback_key);
    loom_open_sandbox(L);
    lua_settop(L, 0);
    return 0;
}

lua_State *loom_newstate(size_t memory_limit) {
    LoomVM *vm = calloc(1, sizeof *vm);
    if (vm == NULL) return NULL;
    vm->limit = memory_limit;
    vm->timeout_ns = 1000000000;
    vm->error.line = -1;
    lua_State *L = lua_newstate(loom_alloc, vm);
    if (L == NULL) { free(vm); return NULL; }
    *(LoomVM **)lua_getextraspace(L) = vm;
    atomic_store(&vm->main, L);
    lua_atpanic(L, loom_panic);
    watchdog_register(vm);
    lua_pushcclosure(L, init_state_k, 0);
    if (loom_pcall(L, 0, 0) != LUA_OK) {
        loom_close(L, 0);
        return NULL;
    }
    /* The message handler stays at index 1 of the main thread for outermost calls. */
    lua_settop(L, 0);
    lua_pushcclosure(L, loom_msgh, 0);
    vm->main_plain = L;
    return L;
}

void loom_close(lua_State *L, int64_t budget_ns) {
    LoomVM *vm = vm_of(L);
    if (budget_ns > 0) vm->timeout_ns = budget_ns;
    else if (vm->timeout_ns == 0) vm->timeout_ns = 1000000000;  /* finalizers always get a deadline */
    vm->instruction_limit = 0;
    vm->depth++;
    begin_entry(vm, L);
    lua_close(L);   /* frees the main thread last; loom_alloc clears vm->main then */
    atomic_store(&vm->deadline, 0);
    atomic_thread_fence(memory_order_seq_cst);
    while (atomic_load(&vm->watchdog_busy)) { }
    atomic_store(&tls_vm, vm->outer_tls);
    watchdog_unregister(vm);
    free(vm);
}

void loom_set_timeout(lua_State *L, int64_t nanoseconds) { vm_of(L)->timeout_ns = nanoseconds > 0 ? nanoseconds : 0; }
int loom_depth(lua_State *L) { return vm_of(L)->depth; }
void loom_set_instruction_limit(lua_State *L, int64_t count) { vm_of(L)->instruction_limit = count > 0 ? count : 0; }
void loom_set_memory_limit(lua_State *L, size_t bytes) { vm_of(L)->limit = bytes; }
size_t loom_memory_limit(lua_State *L) { return vm_of(L)->limit; }
size_t loom_memory_used(lua_State *L) { return vm_of(L)->used; }

/* Used by the coroutine wrappers in sandbox.c: switch the running thread during a resume. */
lua_State *loom_switch_current(lua_State *L, lua_State *to) {
    LoomVM *vm = vm_of(L);
    lua_State *from = atomic_load(&vm->current);
    atomic_store(&vm->current, to);
    if (atomic_load(&vm->stop) != LOOM_STOP_NONE) arm(to);
    else if (vm->instruction_limit > 0 && vm->depth > 0 && to && lua_gethook(to) != loom_hook)
        lua_sethook(to, loom_hook, LUA_MASKCOUNT, INSTRUCTION_STEP);
    return from;
}

/* A Lua function: the traceback of the running thread, under the message given (for xpcall in
   the test runner). Called from Lua, so an allocation failure raises inside Lua. */
int loom_traceback_function(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL && !lua_isnoneornil(L, 1)) {
        luaL_tolstring(L, 1, NULL);
        msg = lua_tostring(L, -1);
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}
