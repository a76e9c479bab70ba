// The system SQLite (libsqlite3-dev).
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro with a function-pointer cast Swift cannot import.
static inline sqlite3_destructor_type gangway_sqlite_transient(void) { return SQLITE_TRANSIENT; }
