/* Internal declarations shared by the C files of CMemoryIndex. Not visible to Swift. */
#ifndef LOOM_MEMORY_INTERNAL_H
#define LOOM_MEMORY_INTERNAL_H

#include "CMemoryIndex.h"

#define LOOM_MEMORY_INSERT_SQL \
    "INSERT INTO memory (id, agent, kind, text, tags, importance, outcome, task, source_agent, source_node, " \
    "derived_from, created, last_used, use_count, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define LOOM_MEMORY_INDEX_SQL "INSERT INTO memory_fts (rowid, words, tagwords) VALUES (?, ?, ?)"

/* A growing byte buffer. */
typedef struct {
    char *p;
    size_t cap;
} LoomBuffer;

/* Binds a row's 15 columns to a statement prepared from LOOM_MEMORY_INSERT_SQL (id NULL when 0). */
void loom_memory_bind_row(sqlite3_stmt *row, const LoomMemoryRow *m);

/* Writes text's words as "<key>_<word>" separated by single spaces (bare words with an empty key)
   into buf, grown as needed and NUL-terminated; returns the length, or (size_t)-1 on failure. */
size_t loom_memory_scope_into(LoomWords *words, LoomBuffer *buf, LoomText text, LoomText key);

#endif
