/* The one place that decides which exp() float layers use.
 *
 * Default: the C library's expf, as the SDK kpu.c does. Libraries differ in the last ulp, so a
 * port that must agree bit-for-bit with another platform can define EMC_EXPF to its own
 * function (docs/runtime_c.md "Float layers"). */
#ifndef EMC_MATH_H
#define EMC_MATH_H
#include <math.h>

#ifndef EMC_EXPF
#define EMC_EXPF expf
#endif

static inline float emc_expf(float x) { return EMC_EXPF(x); }

#endif
