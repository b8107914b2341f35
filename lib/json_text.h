/* Checks on a JSON document's text that cJSON's tree cannot show: where in
 * the document a byte sits (as a JSON path), raw control characters and
 * \u0000 escapes inside strings. Shared by the pipeline loader and the
 * opportunity importer. */
#ifndef SFSM_JSON_TEXT_H
#define SFSM_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define SFSM_JSON_PATH_SIZE 320

/* 1 if key[0..len) may appear in a path as .key (else as ["key"]). */
int sfsm__json_is_identifier(const char *key, size_t len);

/* The path ("events[3].to", "document" at the top) of the value at byte
 * `target` of a document cJSON accepted; out has SFSM_JSON_PATH_SIZE bytes. */
void sfsm__json_path_at(const char *json, size_t target, char *out);

/* SFSM_EPARSE for a raw control character in a string, SFSM_EINVAL for a
 * \u0000 escape (a C string cannot hold it: cJSON would cut the text short),
 * each naming the path and byte; SFSM_OK otherwise. */
int sfsm__json_check_strings(const char *json, size_t len);

/* Decodes the JSON escape \uXXXX whose hex digits start at p (a surrogate
 * pair \uD8xx\uDCxx included) into *cp. Returns how many bytes after the
 * 'u' it used (4 or 10), -1 for bad hex digits, -2 for an unpaired
 * surrogate. */
int sfsm__json_unicode(const char *p, uint32_t *cp);

/* The JSON number at p when its value is an exact integer in lo..hi,
 * whatever its notation: 10000, 1e4, 10000.0 and 1.0e+4 are all 10000 (as
 * the import, which reads numbers through cJSON, accepts them). Exact: no
 * double; 1.5, 1e400 and 1e-400 are refused. Returns the position after the
 * number with *out set, or NULL (not a JSON number, not an integer, or out
 * of range). */
const char *sfsm__json_int(const char *p, int64_t lo, int64_t hi, int64_t *out);

#endif
