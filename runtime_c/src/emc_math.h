/* The exp() every float layer uses: emc_expf, a fixed sequence of IEEE float32 operations
 * (Cephes-style range reduction + degree-6 polynomial) with a bit-identical numpy twin in
 * emc/kmodel/layers/generic_math.py (expf_f32). C libraries and numpy disagree in the last ulp
 * of exp on ~11% of inputs, so a shared deterministic algorithm is the only way the C runtime,
 * every MCU port and the Python reference agree bit for bit. Accuracy: <= 2 ulp vs glibc.
 * Needs -ffp-contract=off (no fused multiply-add). */
#ifndef EMC_MATH_H
#define EMC_MATH_H

float emc_expf(float x);

#endif
