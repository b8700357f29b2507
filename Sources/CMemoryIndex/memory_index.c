/*
 * The memory store's hot path in C: inserting a batch of memories with their agent-scoped index
 * tokens (words.c), through prepared statements bound directly, and removing a memory's tokens.
 * Swift hands over the rows as byte spans; nothing here allocates per memory beyond one growing
 * token buffer.
 */
#include "CMemoryIndex.h"
#include "memory_internal.h"

#include <stdlib.h>
#include <string.h>

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
    LoomWords *tokenizer = NULL;
    int rc = loom_words_open(db, &tokenizer);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, LOOM_MEMORY_INSERT_SQL, -1, &row, NULL);
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
        size_t wn = loom_memory_scope_into(tokenizer, &words, m->text, m->key);
        size_t tn = loom_memory_scope_into(tokenizer, &tags, m->tagwords, m->key);
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
    loom_words_close(tokenizer);
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

int loom_memory_unindex(sqlite3 *db, LoomWords *tokenizer, int64_t id, LoomText key, LoomText text, LoomText tagwords) {
    sqlite3_stmt *s = NULL;
    LoomBuffer words = {NULL, 0}, tags = {NULL, 0};
    int rc = sqlite3_prepare_v2(db,
        "INSERT INTO memory_fts (memory_fts, rowid, words, tagwords) VALUES ('delete', ?, ?, ?)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        size_t wn = loom_memory_scope_into(tokenizer, &words, text, key);
        size_t tn = loom_memory_scope_into(tokenizer, &tags, tagwords, key);
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
