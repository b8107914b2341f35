/* Errors of the SQLite store, naming the file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <salesfsm/common.h>

#include "store_sqlite_error.h"

#define PATH_TAIL 64

const char *sfsm__path_label(char out[SFSM_LABEL_SIZE], const char *path)
{
    size_t len = path ? strlen(path) : 0;
    if (len <= PATH_TAIL)
        return sfsm__label(out, path);
    const char *tail = path + len - PATH_TAIL;
    /* start on a character, not inside one (a bad byte is escaped anyway) */
    for (int k = 0; k < 3 && ((unsigned char)*tail & 0xC0) == 0x80; k++)
        tail++;
    char cut[SFSM_LABEL_SIZE];
    sfsm__label(cut, tail);   /* <= 64 bytes: not cut again, <= 257 bytes */
    memcpy(out, "...", 3);
    memcpy(out + 3, cut, strlen(cut) + 1);
    return out;
}

int sfsm__sqlite_error(int code, const char *file, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return sfsm_error_set(code, "sqlite store '%s': %s", file, text);
}
