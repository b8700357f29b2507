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
#include "memory_internal.h"

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
    char message[256]; /* the indexer's failure, written before its ROLLBACK */
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
    LoomBuffer words = {NULL, 0}, tags = {NULL, 0};
    LoomWords *tokenizer = NULL;
    int rc = loom_words_open(s->db, &tokenizer);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(s->db, LOOM_MEMORY_INDEX_SQL, -1, &fts, NULL);
    if (rc != SQLITE_OK) snprintf(s->message, sizeof s->message, "%s", sqlite3_errmsg(s->db));
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
            size_t wn = loom_memory_scope_into(tokenizer, &words, s->rows[i].text, s->rows[i].key);
            size_t tn = loom_memory_scope_into(tokenizer, &tags, s->rows[i].tagwords, s->rows[i].key);
            if (wn == (size_t)-1 || tn == (size_t)-1) { rc = SQLITE_NOMEM; break; }
            sqlite3_bind_int64(fts, 1, s->ids[i]);
            sqlite3_bind_text(fts, 2, words.p, (int)wn, SQLITE_STATIC);
            sqlite3_bind_text(fts, 3, tags.p, (int)tn, SQLITE_STATIC);
            rc = sqlite3_step(fts);
            sqlite3_reset(fts);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        if (rc == SQLITE_OK) rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            pthread_mutex_lock(&s->lock);
            snprintf(s->message, sizeof s->message, "%s", rc == SQLITE_NOMEM ? sqlite3_errstr(rc) : sqlite3_errmsg(s->db));
            pthread_mutex_unlock(&s->lock);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        }
    }
    sqlite3_finalize(fts);
    loom_words_close(tokenizer);
    free(words.p);
    free(tags.p);
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
    if (count <= 0 || batch <= 0 || error_cap == 0) return SQLITE_MISUSE;
    error[0] = 0;
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
        pthread_mutex_destroy(&s.lock);
        pthread_cond_destroy(&s.ready);
        snprintf(error, error_cap, "cannot start the indexer thread");
        return SQLITE_ERROR;
    }
    sqlite3_stmt *row = NULL;
    rc = sqlite3_prepare_v2(rows_db, LOOM_MEMORY_INSERT_SQL, -1, &row, NULL);
    for (int b = 0; rc == SQLITE_OK && b * batch < count; b++) {
        rc = sqlite3_exec(rows_db, "BEGIN", NULL, NULL, NULL);
        int end = (b + 1) * batch < count ? (b + 1) * batch : count;
        for (int i = b * batch; rc == SQLITE_OK && i < end; i++) {
            loom_memory_bind_row(row, &rows[i]);
            rc = sqlite3_step(row);
            sqlite3_reset(row);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
            ids[i] = sqlite3_last_insert_rowid(rows_db);
        }
        if (rc == SQLITE_OK) rc = sqlite3_exec(rows_db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            snprintf(error, error_cap, "rows: %s", sqlite3_errmsg(rows_db));
            sqlite3_exec(rows_db, "ROLLBACK", NULL, NULL, NULL);
            break;
        }
        pthread_mutex_lock(&s.lock);
        s.committed = b + 1;
        pthread_cond_signal(&s.ready);
        pthread_mutex_unlock(&s.lock);
    }
    if (rc != SQLITE_OK) {
        /* Whatever failed (the statement, a batch), the indexer must not wait for more. */
        if (!error[0]) snprintf(error, error_cap, "rows: %s", sqlite3_errmsg(rows_db));
        pthread_mutex_lock(&s.lock);
        if (s.rc == SQLITE_OK) s.rc = rc;
        pthread_cond_signal(&s.ready);
        pthread_mutex_unlock(&s.lock);
    }
    sqlite3_finalize(row);
    *acknowledged = seconds_now() - start;
    pthread_join(thread, NULL);
    *indexed = seconds_now() - start;
    if (rc == SQLITE_OK && s.rc != SQLITE_OK) {
        rc = s.rc;
        snprintf(error, error_cap, "index: %s", s.message);
    }
    sqlite3_close(rows_db);
    sqlite3_close(index_db);
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.ready);
    free(ids);
    return rc;
}
