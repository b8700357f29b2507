/*
 * The words of a memory, as the index sees them: SQLite's own `unicode61` tokenizer (the one the
 * `memory_fts` table is declared with) splits and folds the text, and each word is written as
 * `<key>_<word>` for the agent's key. Inserts, queries and deletions all go through here, so they
 * always agree with each other and with FTS5: a word next to “quotes”, a dash or an ellipsis, in
 * upper case or with diacritics, is the same word (`Köln`, `KOLN` and `koln` alike).
 *
 * The tokenizer is found through the connection's FTS5 extension (`SELECT fts5(?1)`, as
 * https://sqlite.org/fts5.html describes under "Extending FTS5"); sqlite3.h declares its API.
 */
#include "CMemoryIndex.h"
#include "memory_internal.h"

#include <stdlib.h>
#include <string.h>

struct LoomWords {
    fts5_tokenizer methods;
    Fts5Tokenizer *tokenizer;
};

int loom_words_open(sqlite3 *db, LoomWords **out) {
    *out = NULL;
    fts5_api *api = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
        rc = sqlite3_step(s);
        rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_OK) return rc;
    if (!api || api->iVersion < 2) return SQLITE_ERROR;
    LoomWords *w = calloc(1, sizeof *w);
    if (!w) return SQLITE_NOMEM;
    void *user = NULL;
    rc = api->xFindTokenizer(api, "unicode61", &user, &w->methods);
    if (rc == SQLITE_OK) rc = w->methods.xCreate(user, NULL, 0, &w->tokenizer);
    if (rc != SQLITE_OK) {
        free(w);
        return rc;
    }
    *out = w;
    return SQLITE_OK;
}

void loom_words_close(LoomWords *w) {
    if (!w) return;
    if (w->tokenizer) w->methods.xDelete(w->tokenizer);
    free(w);
}

typedef struct {
    LoomBuffer *buf;
    size_t length;
    const char *key;
    size_t keylen;
} Scoping;

static int put(Scoping *s, const char *bytes, size_t n) {
    if (s->length + n + 1 > s->buf->cap) {
        size_t cap = s->buf->cap ? s->buf->cap : 256;
        while (s->length + n + 1 > cap) cap *= 2;
        char *p = realloc(s->buf->p, cap);
        if (!p) return SQLITE_NOMEM;
        s->buf->p = p;
        s->buf->cap = cap;
    }
    memcpy(s->buf->p + s->length, bytes, n);
    s->length += n;
    return SQLITE_OK;
}

static int on_token(void *context, int flags, const char *token, int n, int start, int end) {
    (void)flags; (void)start; (void)end;
    Scoping *s = context;
    if (n <= 0) return SQLITE_OK;
    int rc = SQLITE_OK;
    if (s->length > 0) rc = put(s, " ", 1);
    if (rc == SQLITE_OK && s->keylen > 0) {
        rc = put(s, s->key, s->keylen);
        if (rc == SQLITE_OK) rc = put(s, "_", 1);
    }
    if (rc == SQLITE_OK) rc = put(s, token, (size_t)n);
    return rc;
}

size_t loom_memory_scope_into(LoomWords *w, LoomBuffer *buf, LoomText text, LoomText key) {
    Scoping s = {buf, 0, key.p, key.p ? (size_t)key.n : 0};
    if (put(&s, "", 0) != SQLITE_OK) return (size_t)-1;   /* room for the terminator */
    if (text.p && text.n > 0) {
        if (w->methods.xTokenize(w->tokenizer, &s, FTS5_TOKENIZE_DOCUMENT, text.p, text.n, on_token) != SQLITE_OK)
            return (size_t)-1;
    }
    buf->p[s.length] = 0;
    return s.length;
}

int loom_words_scoped(LoomWords *w, const char *text, int len, const char *key, int keylen, char **out, size_t *length) {
    *out = NULL;
    *length = 0;
    LoomBuffer buf = {NULL, 0};
    size_t n = loom_memory_scope_into(w, &buf, (LoomText){text, len}, (LoomText){key, keylen});
    if (n == (size_t)-1) {
        free(buf.p);
        return SQLITE_NOMEM;
    }
    *out = buf.p;
    *length = n;
    return SQLITE_OK;
}

void loom_memory_free(char *p) { free(p); }
