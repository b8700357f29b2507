/*
 * The memory store's hot path in C: inserting a batch of memories with their agent-scoped index
 * tokens, through prepared statements bound directly, and the one tokenizer the index, queries and
 * deletions share. Swift hands over the rows as byte spans; nothing here allocates per memory
 * beyond one growing token buffer.
 */
#include "CMemoryIndex.h"
#include "memory_internal.h"

#include <stdlib.h>
#include <string.h>

size_t loom_memory_scoped_bound(size_t len, size_t keylen) {
    /* Worst case: one-byte words separated by one byte, each prefixed by key and '_'. */
    return len + (len / 2 + 1) * (keylen + 2) + 1;
}

static inline int word_byte(unsigned char b) {
    return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b >= 0x80;
}

size_t loom_memory_scoped(const char *text, size_t len, const char *key, size_t keylen, char *out, size_t cap) {
    size_t o = 0;
    size_t i = 0;
#define PUT(c) do { if (o < cap) out[o] = (char)(c); o++; } while (0)
    while (i < len) {
        while (i < len && !word_byte((unsigned char)text[i])) i++;
        if (i >= len) break;
        if (o > 0) PUT(' ');
        if (keylen > 0) {
            for (size_t k = 0; k < keylen; k++) PUT(key[k]);
            PUT('_');
        }
        while (i < len && word_byte((unsigned char)text[i])) {
            unsigned char b = (unsigned char)text[i++];
            PUT((b >= 'A' && b <= 'Z') ? (b | 0x20) : b);
        }
    }
#undef PUT
    return o;
}

size_t loom_memory_scope_into(LoomBuffer *buf, LoomText text, LoomText key) {
    size_t len = text.p ? (size_t)text.n : 0;
    size_t need = loom_memory_scoped_bound(len, (size_t)key.n);
    if (need > buf->cap) {
        char *p = realloc(buf->p, need);
        if (!p) return (size_t)-1;
        buf->p = p;
        buf->cap = need;
    }
    return loom_memory_scoped(text.p ? text.p : "", len, key.p, (size_t)key.n, buf->p, buf->cap);
}

static int bind_text(sqlite3_stmt *s, int i, LoomText t) {
    if (!t.p) return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, t.p, t.n, SQLITE_STATIC);
}

void loom_memory_bind_row(sqlite3_stmt *row, const LoomMemoryRow *m) {
    if (m->id != 0) sqlite3_bind_int64(row, 1, m->id); else sqlite3_bind_null(row, 1);
    bind_text(row, 2, m->agent);
    bind_text(row, 3, m->kind);
    bind_text(row, 4, m->text);
    bind_text(row, 5, m->tags);
    sqlite3_bind_double(row, 6, m->importance);
    bind_text(row, 7, m->outcome);
    bind_text(row, 8, m->task);
    bind_text(row, 9, m->source_agent);
    bind_text(row, 10, m->source_node);
    if (m->has_derived_from) sqlite3_bind_int64(row, 11, m->derived_from); else sqlite3_bind_null(row, 11);
    sqlite3_bind_double(row, 12, m->created);
    if (m->has_last_used) sqlite3_bind_double(row, 13, m->last_used); else sqlite3_bind_null(row, 13);
    sqlite3_bind_int64(row, 14, m->use_count);
    if (m->has_expires) sqlite3_bind_double(row, 15, m->expires); else sqlite3_bind_null(row, 15);
}

int loom_memory_insert(sqlite3 *db, const LoomMemoryRow *rows, int count, int64_t *ids) {
    sqlite3_stmt *row = NULL, *fts = NULL;
    LoomBuffer words = {NULL, 0}, tags = {NULL, 0};
    int rc = sqlite3_prepare_v2(db, LOOM_MEMORY_INSERT_SQL, -1, &row, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, LOOM_MEMORY_INDEX_SQL, -1, &fts, NULL);
    for (int i = 0; rc == SQLITE_OK && i < count; i++) {
        const LoomMemoryRow *m = &rows[i];
        loom_memory_bind_row(row, m);
        rc = sqlite3_step(row);
        sqlite3_reset(row);
        if (rc != SQLITE_DONE) break;
        rc = SQLITE_OK;
        int64_t id = sqlite3_last_insert_rowid(db);
        ids[i] = id;
        size_t wn = loom_memory_scope_into(&words, m->text, m->key);
        size_t tn = loom_memory_scope_into(&tags, m->tagwords, m->key);
        if (wn == (size_t)-1 || tn == (size_t)-1) { rc = SQLITE_NOMEM; break; }
        sqlite3_bind_int64(fts, 1, id);
        sqlite3_bind_text(fts, 2, words.p, (int)wn, SQLITE_STATIC);
        sqlite3_bind_text(fts, 3, tags.p, (int)tn, SQLITE_STATIC);
        rc = sqlite3_step(fts);
        sqlite3_reset(fts);
        if (rc != SQLITE_DONE) break;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(row);
    sqlite3_finalize(fts);
    free(words.p);
    free(tags.p);
    return rc;
}

int loom_memory_insert_transaction(sqlite3 *db, const LoomMemoryRow *rows, int count) {
    int64_t *ids = malloc(sizeof(int64_t) * (size_t)(count > 0 ? count : 1));
    if (!ids) return SQLITE_NOMEM;
    int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = loom_memory_insert(db, rows, count, ids);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    free(ids);
    return rc;
}

int loom_memory_unindex(sqlite3 *db, int64_t id, LoomText key, LoomText text, LoomText tagwords) {
    sqlite3_stmt *s = NULL;
    LoomBuffer words = {NULL, 0}, tags = {NULL, 0};
    int rc = sqlite3_prepare_v2(db,
        "INSERT INTO memory_fts (memory_fts, rowid, words, tagwords) VALUES ('delete', ?, ?, ?)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        size_t wn = loom_memory_scope_into(&words, text, key);
        size_t tn = loom_memory_scope_into(&tags, tagwords, key);
        if (wn == (size_t)-1 || tn == (size_t)-1) {
            rc = SQLITE_NOMEM;
        } else {
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_text(s, 2, words.p, (int)wn, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, tags.p, (int)tn, SQLITE_STATIC);
            rc = sqlite3_step(s);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
    }
    sqlite3_finalize(s);
    free(words.p);
    free(tags.p);
    return rc;
}
