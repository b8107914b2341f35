/* Errors of the SQLite store: every message names the database file, in
 * one place, so that a failure found long after open (a malformed page met
 * by a scan) still says which file is damaged. */
#ifndef SFSM_STORE_SQLITE_ERROR_H
#define SFSM_STORE_SQLITE_ERROR_H

#include "record_check.h"

/* A printable, bounded form of a file path for messages: the path as
 * sfsm__label writes text, but a long one keeps its last 64 bytes (the file
 * name says more than the first directories) behind "...". Returns out. */
const char *sfsm__path_label(char out[SFSM_LABEL_SIZE], const char *path);

/* Sets error `code` with "sqlite store '<file>': " and the formatted text;
 * file is a sfsm__path_label. Returns code. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int sfsm__sqlite_error(int code, const char *file, const char *fmt, ...);

#endif
