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

/* What is wrong with a text of at most max bytes, for the callers to word:
 * SFSM_EINVAL for an argument (sfsm__check_name/_text below), SFSM_ESTORAGE
 * for what a store handed back (record_check.c). flags: NULL and/or ""
 * pass. For SFSM_TEXT_UTF8, *at (if at is not NULL) is the offset of the
 * first bad byte. */
enum { SFSM_TEXT_NULLABLE = 1, SFSM_TEXT_EMPTY_OK = 2 };
enum { SFSM_TEXT_OK, SFSM_TEXT_NULL, SFSM_TEXT_EMPTY, SFSM_TEXT_LONG, SFSM_TEXT_UTF8 };
int sfsm__text_fault(const char *s, size_t max, int flags, size_t *at);

/*
 * Checks a required text argument: non-NULL, non-empty, at most max bytes,
 * valid UTF-8. On failure records SFSM_EINVAL naming `what` and returns it.
 */
int sfsm__check_name(const char *what, const char *s, size_t max);
/* As above, but NULL and "" are allowed (they mean "none"). */
int sfsm__check_text(const char *what, const char *s, size_t max);
/* ISO 4217 shape: exactly three upper-case letters A-Z. 1 if c has it
 * (NULL has not); sfsm__check_currency: else SFSM_EINVAL naming it. */
int sfsm__currency_ok(const char *c);
int sfsm__check_currency(const char *currency);

/* Names of the SFSM_FIELD_* bits in bit order, as a history entry's
 * "fields" writes them (export, import, the load checks). */
#define SFSM__FIELD_COUNT 6
extern const char *const sfsm__field_names[SFSM__FIELD_COUNT];
/* The name of one bit; "?" for anything else. */
const char *sfsm__field_name(uint32_t bit);

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
/* Appends code point cp (at most U+10FFFF) encoded as UTF-8. */
void sfsm__buf_add_utf8(sfsm_buf *b, uint32_t cp);
/* Appends s as a JSON string literal, quotes included. */
void sfsm__buf_add_json_string(sfsm_buf *b, const char *s);
/* Takes the NUL-terminated result (caller frees with sfsm__free), or NULL if
 * an allocation failed (the buffer is freed either way). */
char *sfsm__buf_take(sfsm_buf *b);
void sfsm__buf_free(sfsm_buf *b);

#endif
