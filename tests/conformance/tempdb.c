#define _POSIX_C_SOURCE 200809L

#include "tempdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[256];
static unsigned serial;

int tempdb_path(char *buf, size_t size)
{
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/sfsm-conformance-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(dir)) {
            dir[0] = '\0';
            return -1;
        }
    }
    int n = snprintf(buf, size, "%s/store-%u.db", dir, serial++);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

void tempdb_remove(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[512];
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[k]);
        unlink(p);
    }
}

void tempdb_cleanup(void)
{
    if (dir[0])
        rmdir(dir);
    dir[0] = '\0';
}
