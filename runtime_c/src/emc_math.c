/* emc_expf: see emc_math.h. Keep in lock-step with expf_f32 in emc/kmodel/layers/generic_math.py. */
#include <string.h>

#include "emc_math.h"

/* 2^n as a float for -126 <= n <= 127 (exact). */
static float pow2i(int n)
{
    unsigned int u = (unsigned int)(n + 127) << 23;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float emc_expf(float x)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float kf, r, z, p, y, half;
    int k, k1;
    if (x != x)
        return x;
    if (x > 88.72283935546875f)
        return x * 1e30f * 1e30f; /* +inf */
    if (x < -103.972084045410156f)
        return 0.0f;
    half = x < 0.0f ? -0.5f : 0.5f;
    k = (int)(x * log2e + half); /* round half away from zero; |k| <= 150 */
    kf = (float)k;
    r = x - kf * ln2_hi;
    r = r - kf * ln2_lo;
    z = r * r;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    y = p * z + r + 1.0f;
    /* y * 2^k in two exact power-of-two steps: only the last can round (subnormal results) */
    k1 = k / 2;
    return y * pow2i(k1) * pow2i(k - k1);
}
