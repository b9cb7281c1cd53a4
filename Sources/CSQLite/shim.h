// SQLite 3 as Swift sees it. SQLITE_TRANSIENT is a cast macro Swift cannot import.
#ifndef ERIZO_CSQLITE_SHIM_H
#define ERIZO_CSQLITE_SHIM_H

#include <sqlite3.h>

static inline sqlite3_destructor_type erizo_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
