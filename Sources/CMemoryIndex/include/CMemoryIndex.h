#ifndef LOOM_CMEMORYINDEX_H
#define LOOM_CMEMORYINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

/* The index's tokenizer, open for a batch (words.c). */
typedef struct LoomWords LoomWords;

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
int loom_memory_unindex(sqlite3 *db, LoomWords *words, int64_t id, LoomText key, LoomText text, LoomText tagwords);

/* The index's tokenizer: SQLite's unicode61 (default options), found through db's FTS5, for a
   series of texts; not to be used by two threads at once. Returns SQLITE_OK or an error code. */
int loom_words_open(sqlite3 *db, LoomWords **out);
void loom_words_close(LoomWords *words);

/* The words of text as the index sees them (split at anything but letters and digits, case
   folded, diacritics removed), each written as "<key>_<word>", separated by single spaces; with
   keylen 0, the bare words. *out is allocated (release it with loom_memory_free) and
   NUL-terminated. The index, queries and deletions all use this one tokenizer, so they agree. */
int loom_words_scoped(LoomWords *words, const char *text, int len, const char *key, int keylen, char **out, size_t *length);
void loom_memory_free(char *p);

#endif
