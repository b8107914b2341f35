/* Input validation and small string helpers. */
#ifndef SFSM_TEXT_H
#define SFSM_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Thread-locals of a shared library are reached through __tls_get_addr
 * unless told otherwise; ours are small, so the fast model is safe. */
#if defined(__GNUC__)
#define SFSM_TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define SFSM_TLS_FAST
#endif

/* Writes the decimal form of v into out (at least 21 bytes); returns its length. */
size_t sfsm__format_i64(char *out, int64_t v);

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int sfsm__utf8_valid(const char *s, size_t len);
/* Offset of the first byte that is not well-formed UTF-8, or len. */
size_t sfsm__utf8_check(const char *s, size_t len);

/*
 * Checks a required text argument: non-NULL, non-empty, at most max bytes,
 * valid UTF-8. On failure records SFSM_EINVAL naming `what` and returns it.
 */
int sfsm__check_name(const char *what, const char *s, size_t max);
/* As above, but NULL and "" are allowed (they mean "none"). */
int sfsm__check_text(const char *what, const char *s, size_t max);
/* ISO 4217 shape: exactly three upper-case letters A-Z. */
int sfsm__check_currency(const char *currency);

/* FNV-1a, for interning names. */
uint32_t sfsm__hash(const char *s, size_t len);

/* Dynamic string used to build messages and JSON. On allocation failure
 * `failed` is set and later appends do nothing. */
typedef struct sfsm_buf {
    char *data;
    size_t len, cap;
    int failed;
} sfsm_buf;

void sfsm__buf_add(sfsm_buf *b, const char *s, size_t n);
void sfsm__buf_adds(sfsm_buf *b, const char *s);
void sfsm__buf_addf(sfsm_buf *b, const char *fmt, ...);
/* Appends code point cp (at most U+10FFFF) encoded as UTF-8. */
void sfsm__buf_add_utf8(sfsm_buf *b, uint32_t cp);
/* Appends s as a JSON string literal, quotes included. */
void sfsm__buf_add_json_string(sfsm_buf *b, const char *s);
/* Takes the NUL-terminated result (caller frees with sfsm__free), or NULL if
 * an allocation failed (the buffer is freed either way). */
char *sfsm__buf_take(sfsm_buf *b);
void sfsm__buf_free(sfsm_buf *b);

#endif
