#include <stdarg.h>
#include <stdio.h>

#include <salesfsm/common.h>

#include "text.h"

/* Per-thread, fixed-size: recording an error must never allocate (it is
 * how out-of-memory is reported). */
static _Thread_local char t_msg[1024] SFSM_TLS_FAST;
static _Thread_local int t_code SFSM_TLS_FAST;

const char *sfsm_strerror(int code)
{
    switch (code) {
#define SFSM_X_CASE(name, value, text) case value: return #name ": " text;
        SFSM_ERROR_TABLE(SFSM_X_CASE)
#undef SFSM_X_CASE
    default:
        return "SFSM_UNKNOWN: unknown error code";
    }
}

const char *sfsm_errmsg(void)
{
    return t_msg;
}

int sfsm_errcode(void)
{
    return t_code;
}

int sfsm_error_set(int code, const char *fmt, ...)
{
    t_code = code;
    if (!fmt) {
        snprintf(t_msg, sizeof t_msg, "%s", sfsm_strerror(code));
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_msg, sizeof t_msg, fmt, ap);
    va_end(ap);
    return code;
}

const char *sfsm_version(void)
{
    return SFSM_VERSION_STRING;
}
