#ifndef LOOM_CMEMORYINDEX_H
#define LOOM_CMEMORYINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* A byte string; p == NULL stands for SQL NULL. */
typedef struct {
    const char *p;
    int n;
} LoomText;

/* One memory to insert: the columns of the `memory` table, plus the agent's token key. */
typedef struct {
    int64_t id; /* 0: the database assigns one */
    LoomText agent, kind, text, tags, tagwords, outcome, task, source_agent, source_node, key;
    double importance, created, last_used, expires;
    int64_t derived_from, use_count;
    unsigned char has_derived_from, has_last_used, has_expires;
} LoomMemoryRow;

/* Inserts rows into `memory` and their agent-scoped tokens into the contentless `memory_fts`,
   inside the caller's transaction. Writes each row's id into ids. Returns SQLITE_OK or the
   failing call's code (the message is sqlite3_errmsg(db)); rows before the failure stay inserted
   and the caller rolls back. */
int loom_memory_insert(sqlite3 *db, const LoomMemoryRow *rows, int count, int64_t *ids);

/* The benchmark's baseline: BEGIN, loom_memory_insert, COMMIT (ROLLBACK on failure). */
int loom_memory_insert_transaction(sqlite3 *db, const LoomMemoryRow *rows, int count);

/* The benchmark's second baseline: rows into `memory` of the database at rows_path on the calling
   thread and their tokens into `memory_fts` of the one at index_path on a second thread, `batch`
   rows a transaction each; the indexer takes each batch as soon as it has committed. Both files
   exist, in WAL mode, migrated and empty; each thread opens its own connection. Sets the seconds
   until the last row committed and until the last batch was indexed; on failure, writes what
   failed into error. */
int loom_memory_split_baseline(const char *rows_path, const char *index_path, int mmap_bytes, int cache_kib,
                               const LoomMemoryRow *rows, int count, int batch,
                               double *acknowledged, double *indexed, char *error, size_t error_cap);

/* Removes a memory's tokens from the contentless index: the values must be the ones indexed. */
int loom_memory_unindex(sqlite3 *db, int64_t id, LoomText key, LoomText text, LoomText tagwords);

/* The words of text (ASCII letters and digits lower-cased, bytes >= 0x80 kept, anything else
   separates) as "<key>_<word>" separated by single spaces; with an empty key, the bare words.
   Writes at most cap bytes and returns the length of the whole result. The index, queries and
   deletions all use this one function, so they always agree. */
size_t loom_memory_scoped(const char *text, size_t len, const char *key, size_t keylen, char *out, size_t cap);

/* The capacity loom_memory_scoped can need for a text of len bytes. */
size_t loom_memory_scoped_bound(size_t len, size_t keylen);

#endif
