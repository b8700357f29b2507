/*
 * Lua 5.4 string patterns, interruptible.
 *
 * string.find, match, gmatch and gsub run in C, where the Lua hook never fires: a pattern such as
 * ".-.-.-.-.-b$" over a long subject would run for minutes. This matcher has the semantics of Lua
 * 5.4's, and counts its work: every recursive step, every expansion of *, + and -, every position
 * tried and every candidate of a plain search. Every CHECK_STEPS steps it looks at the VM's stop flag
 * (one atomic load) and raises the budget error once the deadline has passed. Recursion is bounded
 * (MAX_DEPTH, as Lua's MAXCCALLS) and reported as "pattern too complex".
 */
#include "shim_internal.h"

#include <ctype.h>
#include <string.h>

#define MAX_CAPTURES 32
#define MAX_DEPTH 200
#define CHECK_STEPS 1024
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define ESC '%'
#define SPECIALS "^$*+?.([%-"

#define uchar(c) ((unsigned char)(c))

typedef struct {
    lua_State *L;
    const char *src_start;
    const char *src_end;
    const char *pat_end;
    int depth_left;
    int level;
    unsigned steps_left;
    struct {
        const char *start;
        ptrdiff_t len;
    } capture[MAX_CAPTURES];
} Matcher;

static void count_step(Matcher *m) {
    if (--m->steps_left == 0) {
        m->steps_left = CHECK_STEPS;
        if (loom_interrupted(m->L)) loom_raise_interrupted(m->L);
    }
}

static void matcher_init(Matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->src_start = s;
    m->src_end = s + ls;
    m->pat_end = p + lp;
    m->steps_left = CHECK_STEPS;
    m->level = 0;
    m->depth_left = MAX_DEPTH;
}

static void matcher_reset(Matcher *m) {
    m->level = 0;
    m->depth_left = MAX_DEPTH;
}

/* ---- single characters -------------------------------------------------------------------- */

static int class_matches(int c, int cl) {
    int res;
    switch (tolower(cl)) {
        case 'a': res = isalpha(c); break;
        case 'c': res = iscntrl(c); break;
        case 'd': res = isdigit(c); break;
        case 'g': res = isgraph(c); break;
        case 'l': res = islower(c); break;
        case 'p': res = ispunct(c); break;
        case 's': res = isspace(c); break;
        case 'u': res = isupper(c); break;
        case 'w': res = isalnum(c); break;
        case 'x': res = isxdigit(c); break;
        default: return cl == c;
    }
    if (isupper(cl)) res = !res;
    return res != 0;
}

/* p points at '[', close at the matching ']'. */
static int set_matches(int c, const char *p, const char *close) {
    int found = 1;
    if (*(p + 1) == '^') {
        found = 0;
        p++;
    }
    while (++p < close) {
        if (*p == ESC) {
            p++;
            if (class_matches(c, uchar(*p))) return found;
        } else if (*(p + 1) == '-' && p + 2 < close) {
            p += 2;
            if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return found;
        } else if (uchar(*p) == c) {
            return found;
        }
    }
    return !found;
}

/* The end of the single-character class starting at p. */
static const char *class_end(Matcher *m, const char *p) {
    switch (*p++) {
        case ESC:
            if (p == m->pat_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
            return p + 1;
        case '[':
            if (*p == '^') p++;
            do {
                if (p == m->pat_end) luaL_error(m->L, "malformed pattern (missing ']')");
                if (*(p++) == ESC && p < m->pat_end) p++;
            } while (*p != ']');
            return p + 1;
        default:
            return p;
    }
}

static int single_matches(Matcher *m, const char *s, const char *p, const char *ep) {
    if (s >= m->src_end) return 0;
    int c = uchar(*s);
    switch (*p) {
        case '.': return 1;
        case ESC: return class_matches(c, uchar(*(p + 1)));
        case '[': return set_matches(c, p, ep - 1);
        default: return uchar(*p) == c;
    }
}

/* ---- the matcher -------------------------------------------------------------------------- */

static const char *match_here(Matcher *m, const char *s, const char *p);

static const char *match_balance(Matcher *m, const char *s, const char *p) {
    if (p >= m->pat_end - 1) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != *p) return NULL;
    int open = *p, close = *(p + 1), depth = 1;
    while (++s < m->src_end) {
        count_step(m);
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

static const char *expand_greedy(Matcher *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t n = 0;
    while (single_matches(m, s + n, p, ep)) {
        n++;
        count_step(m);
    }
    for (; n >= 0; n--) {
        const char *res = match_here(m, s + n, ep + 1);
        if (res) return res;
    }
    return NULL;
}

static const char *expand_lazy(Matcher *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *res = match_here(m, s, ep + 1);
        if (res) return res;
        if (!single_matches(m, s, p, ep)) return NULL;
        s++;
        count_step(m);
    }
}

static const char *open_capture(Matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->capture[m->level].start = s;
    m->capture[m->level].len = what;
    m->level++;
    const char *res = match_here(m, s, p);
    if (res == NULL) m->level--;
    return res;
}

static const char *close_capture(Matcher *m, const char *s, const char *p) {
    int l = m->level - 1;
    while (l >= 0 && m->capture[l].len != CAP_UNFINISHED) l--;
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[l].len = s - m->capture[l].start;
    const char *res = match_here(m, s, p);
    if (res == NULL) m->capture[l].len = CAP_UNFINISHED;
    return res;
}

static int capture_index(Matcher *m, int digit) {
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->capture[l].len == CAP_UNFINISHED)
        return luaL_error(m->L, "invalid capture index %%%d", l + 1);
    return l;
}

static const char *match_backreference(Matcher *m, const char *s, int digit) {
    int l = capture_index(m, digit);
    size_t len = (size_t)m->capture[l].len;
    if ((size_t)(m->src_end - s) >= len && memcmp(m->capture[l].start, s, len) == 0) return s + len;
    return NULL;
}

/* Matches pattern p at s; returns the end of the match or NULL. */
static const char *match_here(Matcher *m, const char *s, const char *p) {
    if (m->depth_left-- == 0) luaL_error(m->L, "pattern too complex");
    count_step(m);
    while (p != m->pat_end) {
        const char *ep;
        switch (*p) {
            case '(':
                if (*(p + 1) == ')') s = open_capture(m, s, p + 2, CAP_POSITION);
                else s = open_capture(m, s, p + 1, CAP_UNFINISHED);
                goto done;
            case ')':
                s = close_capture(m, s, p + 1);
                goto done;
            case '$':
                if (p + 1 != m->pat_end) goto single;
                s = (s == m->src_end) ? s : NULL;
                goto done;
            case ESC:
                switch (*(p + 1)) {
                    case 'b':
                        s = match_balance(m, s, p + 2);
                        if (s != NULL) {
                            p += 4;
                            continue;
                        }
                        goto done;
                    case 'f': {
                        p += 2;
                        if (*p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                        ep = class_end(m, p);
                        int before = (s == m->src_start) ? '\0' : uchar(*(s - 1));
                        int here = (s < m->src_end) ? uchar(*s) : '\0';
                        if (!set_matches(before, p, ep - 1) && set_matches(here, p, ep - 1)) {
                            p = ep;
                            continue;
                        }
                        s = NULL;
                        goto done;
                    }
                    case '0': case '1': case '2': case '3': case '4':
                    case '5': case '6': case '7': case '8': case '9':
                        s = match_backreference(m, s, uchar(*(p + 1)));
                        if (s != NULL) {
                            p += 2;
                            continue;
                        }
                        goto done;
                    default:
                        goto single;
                }
            default:
            single:
                ep = class_end(m, p);
                if (!single_matches(m, s, p, ep)) {
                    if (*ep == '*' || *ep == '?' || *ep == '-') {
                        p = ep + 1;
                        continue;
                    }
                    s = NULL;
                } else {
                    switch (*ep) {
                        case '?': {
                            const char *res = match_here(m, s + 1, ep + 1);
                            if (res != NULL) {
                                s = res;
                            } else {
                                p = ep + 1;
                                continue;
                            }
                            break;
                        }
                        case '+': s = expand_greedy(m, s + 1, p, ep); break;
                        case '*': s = expand_greedy(m, s, p, ep); break;
                        case '-': s = expand_lazy(m, s, p, ep); break;
                        default:
                            s++;
                            p = ep;
                            continue;
                    }
                }
                goto done;
        }
    }
done:
    m->depth_left++;
    return s;
}

/* ---- captures ----------------------------------------------------------------------------- */

/* Pushes capture i (or the whole match s..e when there are no captures and i is 0). */
static void push_capture(Matcher *m, int i, const char *s, const char *e) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(m->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t len = m->capture[i].len;
    if (len == CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION) lua_pushinteger(m->L, (m->capture[i].start - m->src_start) + 1);
    else lua_pushlstring(m->L, m->capture[i].start, (size_t)len);
}

static int push_captures(Matcher *m, const char *s, const char *e) {
    int n = (m->level == 0 && s != NULL) ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

/* ---- find and match ----------------------------------------------------------------------- */

static size_t start_index(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0) return 1;
    if (pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp) {
    size_t upto = 0;
    do {
        if (strpbrk(p + upto, SPECIALS)) return 1;
        upto += strlen(p + upto) + 1;  /* the pattern may contain zero bytes */
    } while (upto <= lp);
    return 0;
}

static const char *find_plain(Matcher *m, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *last = s + (ls - lp);
    unsigned cost = 1 + (unsigned)(lp / 256);
    while (s <= last) {
        const char *hit = memchr(s, *p, (size_t)(last - s) + 1);
        if (hit == NULL) return NULL;
        for (unsigned i = 0; i < cost; i++) count_step(m);
        if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
        s = hit + 1;
    }
    return NULL;
}

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    Matcher m;
    matcher_init(&m, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = find_plain(&m, s + init, ls - init, p, lp);
        if (hit != NULL) {
            lua_pushinteger(L, (hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)((hit - s) + (ptrdiff_t)lp));
            return 2;
        }
    } else {
        int anchor = (*p == '^');
        if (anchor) {
            p++;
            lp--;
        }
        matcher_init(&m, L, s, ls, p, lp);
        const char *start = s + init;
        do {
            matcher_reset(&m);
            const char *e = match_here(&m, start, p);
            if (e != NULL) {
                if (find) {
                    lua_pushinteger(L, (start - s) + 1);
                    lua_pushinteger(L, e - s);
                    return push_captures(&m, NULL, NULL) + 2;
                }
                return push_captures(&m, start, e);
            }
        } while (start++ < m.src_end && !anchor);
    }
    luaL_pushfail(L);
    return 1;
}

int loom_str_find(lua_State *L) { return find_or_match(L, 1); }
int loom_str_match(lua_State *L) { return find_or_match(L, 0); }

/* ---- gmatch ------------------------------------------------------------------------------- */

typedef struct {
    const char *next;
    const char *pattern;
    const char *last_match;
    Matcher m;
} GMatch;

static int gmatch_next(lua_State *L) {
    GMatch *g = (GMatch *)lua_touserdata(L, lua_upvalueindex(3));
    g->m.L = L;  /* the caller may be another coroutine than the creator */
    for (const char *src = g->next; src <= g->m.src_end; src++) {
        matcher_reset(&g->m);
        const char *e = match_here(&g->m, src, g->pattern);
        if (e != NULL && e != g->last_match) {
            g->next = g->last_match = e;
            return push_captures(&g->m, src, e);
        }
    }
    return 0;
}

int loom_str_gmatch(lua_State *L) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);  /* the subject and pattern stay alive as upvalues */
    GMatch *g = (GMatch *)lua_newuserdatauv(L, sizeof(GMatch), 0);
    if (init > ls) init = ls + 1;
    matcher_init(&g->m, L, s, ls, p, lp);
    g->next = s + init;
    g->pattern = p;
    g->last_match = NULL;
    lua_pushcclosure(L, gmatch_next, 3);
    return 1;
}

/* ---- gsub --------------------------------------------------------------------------------- */

static void append_template(Matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    lua_State *L = m->L;
    size_t l;
    const char *news = lua_tolstring(L, 3, &l);
    const char *p;
    while ((p = (const char *)memchr(news, ESC, l)) != NULL) {
        luaL_addlstring(b, news, (size_t)(p - news));
        p++;
        if (*p == ESC) {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (isdigit(uchar(*p))) {
            push_capture(m, *p - '1', s, e);
            luaL_tolstring(L, -1, NULL);
            lua_remove(L, -2);
            luaL_addvalue(b);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", ESC);
        }
        l -= (size_t)(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

/* Appends the replacement of match s..e; returns whether the text changed. */
static int append_replacement(Matcher *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
    lua_State *L = m->L;
    switch (kind) {
        case LUA_TFUNCTION: {
            lua_pushvalue(L, 3);
            int n = push_captures(m, s, e);
            lua_call(L, n, 1);
            break;
        }
        case LUA_TTABLE:
            push_capture(m, 0, s, e);
            lua_gettable(L, 3);
            break;
        default:
            append_template(m, b, s, e);
            return 1;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

int loom_str_gsub(lua_State *L) {
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *last_match = NULL;
    int kind = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    int anchor = (*p == '^');
    lua_Integer n = 0;
    int changed = 0;
    luaL_argexpected(L, kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                     3, "string/function/table");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;
        lp--;
    }
    Matcher m;
    matcher_init(&m, L, src, ls, p, lp);
    while (n < max) {
        matcher_reset(&m);
        const char *e = match_here(&m, src, p);
        if (e != NULL && e != last_match) {
            n++;
            changed = append_replacement(&m, &b, src, e, kind) | changed;
            src = last_match = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}
