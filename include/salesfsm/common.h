/*
 * salesfsm/common.h — version, export macro, error codes, error messages and
 * the replaceable allocator. Included by every other public header.
 */
#ifndef SALESFSM_COMMON_H
#define SALESFSM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SFSM_VERSION_MAJOR 0
#define SFSM_VERSION_MINOR 1
#define SFSM_VERSION_PATCH 0
#define SFSM_VERSION_STRING "0.1.0"

#if defined(SFSM_STATIC)
#  define SFSM_API
#elif defined(_WIN32)
#  ifdef SFSM_BUILDING
#    define SFSM_API __declspec(dllexport)
#  else
#    define SFSM_API __declspec(dllimport)
#  endif
#else
#  define SFSM_API __attribute__((visibility("default")))
#endif

#if defined(__GNUC__)
#  define SFSM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define SFSM_PRINTF(f, a)
#endif

/* Opaque handles; see the header of each noun. */
typedef struct sfsm_pipeline sfsm_pipeline;
typedef struct sfsm_store sfsm_store;
typedef struct sfsm_engine sfsm_engine;
typedef struct sfsm_opp sfsm_opp;

/*
 * The error table: X(NAME, value, description). Numbers never change; new
 * codes are only appended. The enum and sfsm_strerror() are both generated
 * from it, so they cannot drift apart.
 */
#define SFSM_ERROR_TABLE(X)                                                    \
    X(SFSM_OK,          0,   "success")                                        \
    X(SFSM_EINVAL,     -1,   "invalid argument")                               \
    X(SFSM_ENOMEM,     -2,   "out of memory")                                  \
    X(SFSM_ENOTFOUND,  -3,   "not found")                                      \
    X(SFSM_EEXISTS,    -4,   "already exists")                                 \
    X(SFSM_ETRANSITION,-5,   "event not allowed from this stage")              \
    X(SFSM_EGUARD,     -6,   "guard refused the transition")                   \
    X(SFSM_EPERM,      -7,   "role not permitted to fire this event")          \
    X(SFSM_EVETO,      -8,   "vetoed by a before hook")                        \
    X(SFSM_ECONFLICT,  -9,   "version conflict: changed by someone else")      \
    X(SFSM_ESTORAGE,  -10,   "storage failure")                                \
    X(SFSM_EPARSE,    -11,   "parse error")                                    \
    X(SFSM_EVERSION,  -12,   "unsupported version")                            \
    X(SFSM_EBUSY,     -13,   "busy: the object is in use by a running call")

typedef enum sfsm_error {
#define SFSM_X_ENUM(name, value, text) name = value,
    SFSM_ERROR_TABLE(SFSM_X_ENUM)
#undef SFSM_X_ENUM
    SFSM_ERROR_LAST_ = -13
} sfsm_error;

/*
 * Static "NAME: description" text for an error code; an unknown code gives
 * "SFSM_UNKNOWN: unknown error code". Never NULL; never to be freed.
 */
SFSM_API const char *sfsm_strerror(int code);

/*
 * Detail of the last failure on the calling thread, naming the offending
 * input ("event 'sign' not allowed from stage 'lead'"). Never NULL; "" when
 * the thread has had no failure. Valid until the next salesfsm call on this
 * thread; copy it to keep it. A successful call does not clear it.
 */
SFSM_API const char *sfsm_errmsg(void);

/* The code of the last failure on the calling thread (SFSM_OK if none). */
SFSM_API int sfsm_errcode(void);

/*
 * Records a failure for the calling thread and returns `code`, so that a
 * storage backend or a hook can write `return sfsm_error_set(SFSM_ESTORAGE,
 * "disk full writing %s", id);`. The message is truncated at 1023 bytes.
 */
SFSM_API int sfsm_error_set(int code, const char *fmt, ...) SFSM_PRINTF(2, 3);

/* Library version as "MAJOR.MINOR.PATCH"; static storage. */
SFSM_API const char *sfsm_version(void);

/*
 * Replaceable allocator. Every allocation the library makes goes through
 * these three functions (realloc(NULL, n) must behave as malloc(n)). Set it
 * once, before any other call and before any thread uses the library; memory
 * allocated with one allocator is freed with the same one, so never change it
 * while handles are alive. NULL for all three restores malloc/realloc/free.
 * Returns SFSM_EINVAL if only some of the three are NULL.
 * Not routed through it: what SQLite and cJSON allocate inside themselves.
 * Both are shared system libraries whose allocator hooks are process-wide
 * and belong to the application (sqlite3_config, cJSON_InitHooks); the
 * library never changes them.
 */
typedef struct sfsm_allocator {
    void *(*malloc_fn)(size_t size);
    void *(*realloc_fn)(void *ptr, size_t size);
    void (*free_fn)(void *ptr);
} sfsm_allocator;

SFSM_API int sfsm_set_allocator(const sfsm_allocator *a);

/*
 * Release memory that the library allocated and documented as the caller's
 * to free with sfsm_free (for example strings from sfsm_*_to_json).
 * Accepts NULL.
 */
SFSM_API void sfsm_free(void *ptr);

/* Limits on input sizes, in bytes, without the terminating NUL. */
#define SFSM_MAX_ID       128
#define SFSM_MAX_NAME     128    /* stage, event, role, guard, actor, attribute key */
#define SFSM_MAX_TEXT     4096   /* customer, owner, title, note, attribute value */
#define SFSM_MAX_ATTRS    256    /* custom attributes per opportunity */

#ifdef __cplusplus
}
#endif
#endif
