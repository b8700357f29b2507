/*
 * A second raw-C baseline for `loom bench memory`: the same rows written with the work split over
 * two threads and two database files. The calling thread inserts the rows into `memory` in one
 * database, a transaction per batch, and hands each committed batch to an indexer thread, which
 * writes its agent-scoped tokens into `memory_fts` in a second database, a transaction per batch.
 *
 * This is the fastest layout for remember that SQLite allows on two cores (the row and the index
 * do not contend for one writer); it measures what such a design could reach before any of the
 * work it would need (crash recovery of the index, recall waiting for it to catch up).
 */
#include "CMemoryIndex.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    sqlite3 *db;
    const LoomMemoryRow *rows;
    int count, batch;
    int64_t *ids;
    /* Batches committed by the row writer / indexed. */
    int committed;
    int rc;
    pthread_mutex_t lock;
    pthread_cond_t ready;
} Split;

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *indexer(void *arg) {
    Split *s = arg;
    sqlite3_stmt *fts = NULL;
    char *words = NULL, *tags = NULL;
    size_t wcap = 0, tcap = 0;
    int rc = sqlite3_prepare_v2(s->db, "INSERT INTO memory_fts (rowid, words, tagwords) VALUES (?, ?, ?)", -1, &fts, NULL);
    int batches = (s->count + s->batch - 1) / s->batch;
    for (int b = 0; rc == SQLITE_OK && b < batches; b++) {
        pthread_mutex_lock(&s->lock);
        while (s->committed <= b && s->rc == SQLITE_OK) pthread_cond_wait(&s->ready, &s->lock);
        int failed = s->rc != SQLITE_OK;
        pthread_mutex_unlock(&s->lock);
        if (failed) break;
        rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
        int end = (b + 1) * s->batch < s->count ? (b + 1) * s->batch : s->count;
        for (int i = b * s->batch; rc == SQLITE_OK && i < end; i++) {
            const LoomMemoryRow *m = &s->rows[i];
            size_t tl = m->text.p ? (size_t)m->text.n : 0, gl = m->tagwords.p ? (size_t)m->tagwords.n : 0;
            size_t wn = loom_memory_scoped_bound(tl, (size_t)m->key.n), tn = loom_memory_scoped_bound(gl, (size_t)m->key.n);
            if (wn > wcap) { char *p = realloc(words, wn); if (!p) { rc = SQLITE_NOMEM; break; } words = p; wcap = wn; }
            if (tn > tcap) { char *p = realloc(tags, tn); if (!p) { rc = SQLITE_NOMEM; break; } tags = p; tcap = tn; }
            wn = loom_memory_scoped(m->text.p ? m->text.p : "", tl, m->key.p, (size_t)m->key.n, words, wcap);
            tn = loom_memory_scoped(m->tagwords.p ? m->tagwords.p : "", gl, m->key.p, (size_t)m->key.n, tags, tcap);
            sqlite3_bind_int64(fts, 1, s->ids[i]);
            sqlite3_bind_text(fts, 2, words, (int)wn, SQLITE_STATIC);
            sqlite3_bind_text(fts, 3, tags, (int)tn, SQLITE_STATIC);
            rc = sqlite3_step(fts);
            sqlite3_reset(fts);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        if (rc == SQLITE_OK) rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        else sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(fts);
    free(words);
    free(tags);
    pthread_mutex_lock(&s->lock);
    if (rc != SQLITE_OK && s->rc == SQLITE_OK) s->rc = rc;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Opens a connection of its own (WAL is a property of the file) with the node database's settings. */
static int open_database(const char *path, sqlite3 **db, int mmap_bytes, int cache_kib) {
    int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas, "PRAGMA synchronous = NORMAL; PRAGMA mmap_size = %d; PRAGMA cache_size = -%d",
             mmap_bytes, cache_kib);
    if (rc == SQLITE_OK) rc = sqlite3_exec(*db, pragmas, NULL, NULL, NULL);
    return rc;
}

int loom_memory_split_baseline(const char *rows_path, const char *index_path, int mmap_bytes, int cache_kib,
                               const LoomMemoryRow *rows, int count, int batch,
                               double *acknowledged, double *indexed, char *error, size_t error_cap) {
    if (count <= 0 || batch <= 0) return SQLITE_MISUSE;
    sqlite3 *rows_db = NULL, *index_db = NULL;
    int rc = open_database(rows_path, &rows_db, mmap_bytes, cache_kib);
    if (rc == SQLITE_OK) rc = open_database(index_path, &index_db, mmap_bytes, cache_kib);
    int64_t *ids = rc == SQLITE_OK ? malloc(sizeof(int64_t) * (size_t)count) : NULL;
    if (rc == SQLITE_OK && !ids) rc = SQLITE_NOMEM;
    if (rc != SQLITE_OK) {
        snprintf(error, error_cap, "%s", sqlite3_errmsg(index_db ? index_db : rows_db));
        sqlite3_close(rows_db);
        sqlite3_close(index_db);
        return rc;
    }
    Split s = {.db = index_db, .rows = rows, .count = count, .batch = batch, .ids = ids, .rc = SQLITE_OK};
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.ready, NULL);
    pthread_t thread;
    double start = seconds_now();
    if (pthread_create(&thread, NULL, indexer, &s) != 0) {
        free(ids);
        sqlite3_close(rows_db);
        sqlite3_close(index_db);
        snprintf(error, error_cap, "cannot start the indexer thread");
        return SQLITE_ERROR;
    }
    sqlite3_stmt *row = NULL;
    rc = sqlite3_prepare_v2(rows_db,
        "INSERT INTO memory (agent, kind, text, tags, importance, outcome, task, source_agent, source_node, "
        "derived_from, created, last_used, use_count, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        -1, &row, NULL);
    for (int b = 0; rc == SQLITE_OK && b * batch < count; b++) {
        rc = sqlite3_exec(rows_db, "BEGIN", NULL, NULL, NULL);
        int end = (b + 1) * batch < count ? (b + 1) * batch : count;
        for (int i = b * batch; rc == SQLITE_OK && i < end; i++) {
            const LoomMemoryRow *m = &rows[i];
#define TEXT(k, t) ((t).p ? sqlite3_bind_text(row, k, (t).p, (t).n, SQLITE_STATIC) : sqlite3_bind_null(row, k))
            TEXT(1, m->agent); TEXT(2, m->kind); TEXT(3, m->text); TEXT(4, m->tags);
            sqlite3_bind_double(row, 5, m->importance);
            TEXT(6, m->outcome); TEXT(7, m->task); TEXT(8, m->source_agent); TEXT(9, m->source_node);
#undef TEXT
            if (m->has_derived_from) sqlite3_bind_int64(row, 10, m->derived_from); else sqlite3_bind_null(row, 10);
            sqlite3_bind_double(row, 11, m->created);
            if (m->has_last_used) sqlite3_bind_double(row, 12, m->last_used); else sqlite3_bind_null(row, 12);
            sqlite3_bind_int64(row, 13, m->use_count);
            if (m->has_expires) sqlite3_bind_double(row, 14, m->expires); else sqlite3_bind_null(row, 14);
            rc = sqlite3_step(row);
            sqlite3_reset(row);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            ids[i] = sqlite3_last_insert_rowid(rows_db);
        }
        if (rc == SQLITE_OK) rc = sqlite3_exec(rows_db, "COMMIT", NULL, NULL, NULL);
        else sqlite3_exec(rows_db, "ROLLBACK", NULL, NULL, NULL);
        pthread_mutex_lock(&s.lock);
        if (rc == SQLITE_OK) s.committed = b + 1;
        else if (s.rc == SQLITE_OK) { s.rc = rc; snprintf(error, error_cap, "rows: %s", sqlite3_errmsg(rows_db)); }
        pthread_cond_signal(&s.ready);
        pthread_mutex_unlock(&s.lock);
    }
    sqlite3_finalize(row);
    *acknowledged = seconds_now() - start;
    pthread_join(thread, NULL);
    *indexed = seconds_now() - start;
    if (rc == SQLITE_OK && s.rc != SQLITE_OK) {
        rc = s.rc;
        snprintf(error, error_cap, "index: %s", sqlite3_errmsg(index_db));
    }
    sqlite3_close(rows_db);
    sqlite3_close(index_db);
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.ready);
    free(ids);
    return rc;
}
