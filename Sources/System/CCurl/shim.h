// The system libcurl (libcurl4-openssl-dev), loaded on first use.
//
// libcurl is not linked: it drags in ~25 shared objects (gnutls, krb5, ldap, ssh2, ...) whose loading
// and constructors cost every function process ~7 ms at start, although only outgoing HTTP (the warm
// worker's Runtime API loop, upstream calls) needs it. So libcurl.so.4 is dlopen'ed the first time a
// gangway_curl_* function runs; a stdin (cold) invocation never pays for it.
// Swift calls only the gangway_curl_* wrappers below, never curl_* directly (they would not link).
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#if defined(__APPLE__)
#define GANGWAY_LIBCURL "libcurl.4.dylib"
#else
#define GANGWAY_LIBCURL "libcurl.so.4"
#endif

struct gangway_curl_api {
    int loaded;
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
};

// Swift emits only the inline functions it calls, not header globals: the state lives in function-local statics.
static inline void gangway_curl_load(struct gangway_curl_api *api) {
    void *lib = dlopen(GANGWAY_LIBCURL, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    api->global_init = (CURLcode (*)(long))dlsym(lib, "curl_global_init");
    api->easy_init = (CURL *(*)(void))dlsym(lib, "curl_easy_init");
    api->easy_cleanup = (void (*)(CURL *))dlsym(lib, "curl_easy_cleanup");
    api->easy_reset = (void (*)(CURL *))dlsym(lib, "curl_easy_reset");
    api->easy_perform = (CURLcode (*)(CURL *))dlsym(lib, "curl_easy_perform");
    api->easy_strerror = (const char *(*)(CURLcode))dlsym(lib, "curl_easy_strerror");
    api->easy_setopt = (CURLcode (*)(CURL *, CURLoption, ...))dlsym(lib, "curl_easy_setopt");
    api->easy_getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))dlsym(lib, "curl_easy_getinfo");
    api->slist_append = (struct curl_slist *(*)(struct curl_slist *, const char *))dlsym(lib, "curl_slist_append");
    api->slist_free_all = (void (*)(struct curl_slist *))dlsym(lib, "curl_slist_free_all");
    api->loaded = api->global_init && api->easy_init && api->easy_cleanup && api->easy_reset && api->easy_perform &&
        api->easy_strerror && api->easy_setopt && api->easy_getinfo && api->slist_append && api->slist_free_all;
}

/// libcurl's entry points, loaded on the first call (thread-safe); `loaded` is 0 when libcurl is missing.
static inline const struct gangway_curl_api *gangway_curl_api_get(void) {
    static struct gangway_curl_api api;
    static int done;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE)) return &api;
    pthread_mutex_lock(&lock);
    if (!done) {
        gangway_curl_load(&api);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&lock);
    return &api;
}
#define gangway_curl (*gangway_curl_api_get())

/// 1 when libcurl is usable (loading it on the first call).
static inline int gangway_curl_available(void) { return gangway_curl.loaded; }

static inline CURLcode gangway_curl_global_init(long flags) {
    return gangway_curl_available() ? gangway_curl.global_init(flags) : CURLE_FAILED_INIT;
}
/// NULL when libcurl could not be loaded (or is out of memory).
static inline CURL *gangway_curl_easy_init(void) { return gangway_curl_available() ? gangway_curl.easy_init() : NULL; }
// The rest need a handle, so libcurl is loaded by the time they run.
static inline void gangway_curl_easy_cleanup(CURL *h) { gangway_curl.easy_cleanup(h); }
static inline void gangway_curl_easy_reset(CURL *h) { gangway_curl.easy_reset(h); }
static inline CURLcode gangway_curl_easy_perform(CURL *h) { return gangway_curl.easy_perform(h); }
static inline const char *gangway_curl_easy_strerror(CURLcode rc) {
    return gangway_curl_available() ? gangway_curl.easy_strerror(rc) : "libcurl is not available";
}
static inline struct curl_slist *gangway_curl_slist_append(struct curl_slist *list, const char *s) {
    return gangway_curl_available() ? gangway_curl.slist_append(list, s) : NULL;
}
static inline void gangway_curl_slist_free_all(struct curl_slist *list) {
    if (gangway_curl_available()) gangway_curl.slist_free_all(list);
}

// curl_easy_setopt and curl_easy_getinfo are variadic: Swift cannot call them, so each argument type gets a wrapper.
static inline CURLcode gangway_curl_setopt_long(CURL *h, CURLoption o, long v) { return gangway_curl.easy_setopt(h, o, v); }
static inline CURLcode gangway_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return gangway_curl.easy_setopt(h, o, v); }
static inline CURLcode gangway_curl_setopt_write(CURL *h, CURLoption o, size_t (*f)(char *, size_t, size_t, void *)) { return gangway_curl.easy_setopt(h, o, f); }
static inline CURLcode gangway_curl_setopt_debug(CURL *h, CURLoption o, int (*f)(CURL *, curl_infotype, char *, size_t, void *)) { return gangway_curl.easy_setopt(h, o, f); }
static inline CURLcode gangway_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return gangway_curl.easy_getinfo(h, i, v); }
