/* The demo's PRNG: xorshift64* (Vigna), seeded through splitmix64 so that
 * any seed, 0 included, gives a good non-zero state. Same seed, same run. */
#include "demo.h"

void demo_rng_seed(demo_rng *r, uint64_t seed)
{
    uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    r->state = z ? z : UINT64_C(0x2545F4914F6CDD1D);
}

uint64_t demo_rng_next(demo_rng *r)
{
    uint64_t x = r->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

uint32_t demo_rng_below(demo_rng *r, uint32_t n)
{
    /* The high 32 bits are the best ones; the modulo bias is irrelevant here. */
    return (uint32_t)((demo_rng_next(r) >> 32) % n);
}

int demo_rng_range(demo_rng *r, int lo, int hi)
{
    return lo + (int)demo_rng_below(r, (uint32_t)(hi - lo + 1));
}

int demo_rng_chance(demo_rng *r, int per_mille)
{
    return (int)demo_rng_below(r, 1000) < per_mille;
}
