// The system PostgreSQL client library, libpq (libpq-dev), loaded on first use.
//
// libpq is not linked: Debian's libpq.so.5 drags in ~23 shared objects (gssapi/krb5, ldap, sasl, gnutls, ...)
// whose loading would cost every function process at start, although only a `postgres://` store needs it.
// So libpq.so.5 is dlopen'ed the first time a gangway_pq_* function runs; SQLite and file stores never pay.
// Swift calls only the gangway_pq_* wrappers below, never PQ* directly (they would not link).
#include <postgresql/libpq-fe.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#if defined(__APPLE__)
#define GANGWAY_LIBPQ "libpq.5.dylib"
#else
#define GANGWAY_LIBPQ "libpq.so.5"
#endif

struct gangway_pq_api {
    int loaded;
    PGconn *(*connectdb)(const char *);
    void (*finish)(PGconn *);
    ConnStatusType (*status)(const PGconn *);
    char *(*error_message)(const PGconn *);
    PGresult *(*exec_params)(PGconn *, const char *, int, const Oid *, const char *const *, const int *, const int *, int);
    PGresult *(*prepare)(PGconn *, const char *, const char *, int, const Oid *);
    PGresult *(*exec_prepared)(PGconn *, const char *, int, const char *const *, const int *, const int *, int);
    ExecStatusType (*result_status)(const PGresult *);
    char *(*result_error_field)(const PGresult *, int);
    char *(*result_error_message)(const PGresult *);
    int (*ntuples)(const PGresult *);
    char *(*getvalue)(const PGresult *, int, int);
    int (*getlength)(const PGresult *, int, int);
    int (*getisnull)(const PGresult *, int, int);
    char *(*cmd_tuples)(PGresult *);
    void (*clear)(PGresult *);
};

// Swift emits only the inline functions it calls, not header globals: the state lives in function-local statics.
static inline void gangway_pq_load(struct gangway_pq_api *api) {
    void *lib = dlopen(GANGWAY_LIBPQ, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    api->connectdb = (PGconn *(*)(const char *))dlsym(lib, "PQconnectdb");
    api->finish = (void (*)(PGconn *))dlsym(lib, "PQfinish");
    api->status = (ConnStatusType (*)(const PGconn *))dlsym(lib, "PQstatus");
    api->error_message = (char *(*)(const PGconn *))dlsym(lib, "PQerrorMessage");
    api->exec_params = (PGresult *(*)(PGconn *, const char *, int, const Oid *, const char *const *, const int *, const int *, int))
        dlsym(lib, "PQexecParams");
    api->prepare = (PGresult *(*)(PGconn *, const char *, const char *, int, const Oid *))dlsym(lib, "PQprepare");
    api->exec_prepared = (PGresult *(*)(PGconn *, const char *, int, const char *const *, const int *, const int *, int))
        dlsym(lib, "PQexecPrepared");
    api->result_status = (ExecStatusType (*)(const PGresult *))dlsym(lib, "PQresultStatus");
    api->result_error_field = (char *(*)(const PGresult *, int))dlsym(lib, "PQresultErrorField");
    api->result_error_message = (char *(*)(const PGresult *))dlsym(lib, "PQresultErrorMessage");
    api->ntuples = (int (*)(const PGresult *))dlsym(lib, "PQntuples");
    api->getvalue = (char *(*)(const PGresult *, int, int))dlsym(lib, "PQgetvalue");
    api->getlength = (int (*)(const PGresult *, int, int))dlsym(lib, "PQgetlength");
    api->getisnull = (int (*)(const PGresult *, int, int))dlsym(lib, "PQgetisnull");
    api->cmd_tuples = (char *(*)(PGresult *))dlsym(lib, "PQcmdTuples");
    api->clear = (void (*)(PGresult *))dlsym(lib, "PQclear");
    api->loaded = api->connectdb && api->finish && api->status && api->error_message && api->exec_params &&
        api->prepare && api->exec_prepared &&
        api->result_status && api->result_error_field && api->result_error_message && api->ntuples && api->getvalue &&
        api->getlength && api->getisnull && api->cmd_tuples && api->clear;
}

/// libpq's entry points, loaded on the first call (thread-safe); `loaded` is 0 when libpq is missing.
static inline const struct gangway_pq_api *gangway_pq_api_get(void) {
    static struct gangway_pq_api api;
    static int done;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE)) return &api;
    pthread_mutex_lock(&lock);
    if (!done) {
        gangway_pq_load(&api);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&lock);
    return &api;
}
#define gangway_pq (*gangway_pq_api_get())

/// 1 when libpq is usable (loading it on the first call).
static inline int gangway_pq_available(void) { return gangway_pq.loaded; }

/// NULL when libpq could not be loaded (or is out of memory). Check gangway_pq_available() first.
static inline PGconn *gangway_pq_connectdb(const char *conninfo) {
    return gangway_pq_available() ? gangway_pq.connectdb(conninfo) : NULL;
}
// The rest need a connection or a result, so libpq is loaded by the time they run.
static inline void gangway_pq_finish(PGconn *c) { gangway_pq.finish(c); }
static inline ConnStatusType gangway_pq_status(const PGconn *c) { return gangway_pq.status(c); }
static inline const char *gangway_pq_error_message(const PGconn *c) { return gangway_pq.error_message(c); }
static inline PGresult *gangway_pq_exec_params(PGconn *c, const char *sql, int n, const Oid *types,
                                               const char *const *values, const int *lengths, const int *formats,
                                               int result_format) {
    return gangway_pq.exec_params(c, sql, n, types, values, lengths, formats, result_format);
}
static inline PGresult *gangway_pq_prepare(PGconn *c, const char *name, const char *sql, int n, const Oid *types) {
    return gangway_pq.prepare(c, name, sql, n, types);
}
static inline PGresult *gangway_pq_exec_prepared(PGconn *c, const char *name, int n, const char *const *values,
                                                 const int *lengths, const int *formats, int result_format) {
    return gangway_pq.exec_prepared(c, name, n, values, lengths, formats, result_format);
}
static inline ExecStatusType gangway_pq_result_status(const PGresult *r) { return gangway_pq.result_status(r); }
/// The SQLSTATE of a failed result ("" when none).
static inline const char *gangway_pq_sqlstate(const PGresult *r) {
    const char *s = gangway_pq.result_error_field(r, PG_DIAG_SQLSTATE);
    return s ? s : "";
}
static inline const char *gangway_pq_result_error_message(const PGresult *r) { return gangway_pq.result_error_message(r); }
static inline int gangway_pq_ntuples(const PGresult *r) { return gangway_pq.ntuples(r); }
static inline const char *gangway_pq_getvalue(const PGresult *r, int row, int col) { return gangway_pq.getvalue(r, row, col); }
static inline int gangway_pq_getlength(const PGresult *r, int row, int col) { return gangway_pq.getlength(r, row, col); }
static inline int gangway_pq_getisnull(const PGresult *r, int row, int col) { return gangway_pq.getisnull(r, row, col); }
static inline const char *gangway_pq_cmd_tuples(PGresult *r) { return gangway_pq.cmd_tuples(r); }
static inline void gangway_pq_clear(PGresult *r) { gangway_pq.clear(r); }
