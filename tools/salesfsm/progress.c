/* A one-line progress bar for the demo, redrawn in place with '\r'. */
#include "demo.h"

#define BAR_WIDTH 30

void progress_init(progress *p, FILE *f, int total)
{
    p->f = f;
    p->total = total > 0 ? total : 1;
    p->drawn = -1;
}

void progress_update(progress *p, int done, size_t open, size_t won, size_t lost)
{
    if (!p->f || done == p->drawn)
        return;
    int filled = (int)((long long)done * BAR_WIDTH / p->total);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(p->f, "\r[%s] %3d%%  day %d/%d  open %zu  won %zu  lost %zu\033[K", bar,
            (int)((long long)done * 100 / p->total), done, p->total, open, won, lost);
    fflush(p->f);
    p->drawn = done;
}

void progress_finish(progress *p)
{
    if (!p->f || p->drawn < 0)
        return;
    fputs("\r\033[K", p->f);
    fflush(p->f);
}
