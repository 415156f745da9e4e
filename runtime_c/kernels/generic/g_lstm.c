/* GENERIC_LSTM (0x401E): TFLM's integer UNIDIRECTIONAL_SEQUENCE_LSTM (int8 input, weights and hidden
 * state; int16 gates and cell state), bit for bit; arithmetic and body layout:
 * emc/kmodel/layers/generic_lstm.py. Zero points are folded into the biases at convert time, so
 * the matmuls take raw bytes; the hidden state of step t is output row t - 1 (step 0: the zero
 * point, whose recurrent term is 0), the int16 cell state of one batch row is CPU scratch. One unit
 * at a time: its four gates need only x_t and h_{t-1}, and its cell value only its gates. */
#include "g_fixedpoint.h"
#if defined(EMC_USE_DSP) && EMC_USE_DSP
#include "../../ports/cortex_m/emc_dsp.h"
#endif

enum { F_FLAGS, F_IN, F_OUT, F_BATCHES, F_STEPS, F_ISZ, F_UNITS, F_HZP, F_CLIP, F_TANH_MUL,
       F_TANH_SHIFT, F_FMUL, F_FSHIFT, F_IMUL, F_ISHIFT, F_HMUL, F_HSHIFT, N_FIELDS };
enum { GATE_I, GATE_F, GATE_C, GATE_O };

/* sigmoid(k / 24) in 0.16 fixed point: the table of TFLite's int16 Logistic and Tanh (the same
 * numbers as SIGMOID_TABLE in generic_lstm.py) */
static const uint16_t sigmoid_q16[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

/* reference_integer_ops::Logistic, int16, input multiplier 0 / left shift 0 (3x, Q3.12 in, Q0.15 out) */
static int16_t sigmoid16(int32_t x)
{
    int32_t v = x * 3;
    uint32_t a = (uint32_t)(v < 0 ? -v : v), r;
    if ((a >> 9) >= 255)
        r = 0x7FFFu << 10;
    else {
        uint32_t lo = sigmoid_q16[a >> 9], hi = sigmoid_q16[(a >> 9) + 1];
        r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/* reference_integer_ops::Tanh, int16, input scaled by (x * mul + round) >> shift (mul <= 3 << 14) */
static int16_t tanh16(int32_t x, int32_t mul, int shift)
{
    int32_t v = (x * mul + (shift > 0 ? 1 << (shift - 1) : 0)) >> shift, r;
    uint32_t a = (uint32_t)(v < 0 ? -v : v);
    if ((a >> 8) >= 255)
        r = 0xFFFF << 8;
    else {
        uint32_t lo = sigmoid_q16[a >> 8], hi = sigmoid_q16[(a >> 8) + 1];
        r = (int32_t)((lo << 8) + (a & 0xFFu) * (hi - lo));
    }
    r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

static int32_t sat16(int32_t v) { return v < -32768 ? -32768 : v > 32767 ? 32767 : v; }

/* The four gates' matmuls of one unit in one pass over v (the gate rows are gate_pitch bytes apart, their
 * biases bias_pitch bytes, their multipliers / shifts 8 bytes): bias + sum w[k] * v[k] in wrapping int32
 * (TFLM's accumulator), requantized to int16 with saturation. */
static void gate_fc4(const int8_t *w, size_t gate_pitch, const int8_t *v, uint32_t n, const uint8_t *bias,
                     size_t bias_pitch, const uint8_t *mul, const uint8_t *sh, int32_t out[4])
{
    const int8_t *w0 = w, *w1 = w0 + gate_pitch, *w2 = w1 + gate_pitch, *w3 = w2 + gate_pitch;
    uint32_t acc[4], k, g;
#if defined(EMC_USE_DSP) && EMC_USE_DSP
    if (emc_dsp_lstm_gates(w, gate_pitch, v, n, bias, bias_pitch, mul, sh, out))
        return;
#endif
    for (g = 0; g < 4; g++)
        acc[g] = emc_rd32(bias + g * bias_pitch);
    for (k = 0; k < n; k++) {
        int32_t x = v[k];
        acc[0] += (uint32_t)(w0[k] * x);
        acc[1] += (uint32_t)(w1[k] * x);
        acc[2] += (uint32_t)(w2[k] * x);
        acc[3] += (uint32_t)(w3[k] * x);
    }
    for (g = 0; g < 4; g++)
        out[g] = sat16(g_mbqm((int32_t)acc[g], emc_rdi32(mul + 8u * g), emc_rdi32(sh + 8u * g)));
}

static emc_status_t check(emc_check_t *c)
{
    const emc_body_t *b = c->b;
    uint64_t u = emc_f(b, F_UNITS), isz = emc_f(b, F_ISZ), rows = (uint64_t)emc_f(b, F_BATCHES) * emc_f(b, F_STEPS);
    uint32_t i, f;
    for (f = F_BATCHES; f <= F_UNITS; f++)
        if (g_range(c, f, 1, 1 << 16, 0))
            return c->err.status;
    if (g_range(c, F_HZP, -128, 127, 1) || g_range(c, F_CLIP, -1, 32767, 1) ||
        g_range(c, F_TANH_MUL, 1, 3 << 14, 0) || g_range(c, F_TANH_SHIFT, 0, 30, 0) ||
        g_range(c, F_FSHIFT, -31, 30, 1) || g_range(c, F_ISHIFT, -31, 30, 1) || g_range(c, F_HSHIFT, -31, 30, 1))
        return c->err.status;
    if (emc_chk_tail(c, F_UNITS, 4 * N_FIELDS, 64u + 32u * u + 4u * u * (isz + u)))
        return c->err.status;
    for (i = 0; i < 8; i++)
        if (emc_rdi32(b->p + 4 * N_FIELDS + 32 + 4 * i) < -31 || emc_rdi32(b->p + 4 * N_FIELDS + 32 + 4 * i) > 30)
            return emc_fail(c, EMC_E_BODY, F_UNITS);
    emc_need_cpu_scratch(c, 2u * (size_t)u);
    return emc_check_main_io(c, F_IN, rows * isz, F_OUT, rows * u, EMC_DT_I8);
}

static void run(emc_exec_t *x)
{
    const emc_body_t *b = x->b;
    uint32_t nb = emc_f(b, F_BATCHES), nt = emc_f(b, F_STEPS), isz = emc_f(b, F_ISZ), nu = emc_f(b, F_UNITS);
    uint32_t bi, t, u, g;
    int32_t clip = emc_fi(b, F_CLIP), tmul = (int32_t)emc_f(b, F_TANH_MUL), tshift = (int32_t)emc_f(b, F_TANH_SHIFT);
    const uint8_t *mul = b->p + 4 * N_FIELDS, *sh = mul + 32, *bias_in = sh + 32, *bias_rec = bias_in + 16u * nu;
    const int8_t *w_in = (const int8_t *)(bias_rec + 16u * nu), *w_rec = w_in + 4u * (size_t)nu * isz;
    const int8_t *in = (const int8_t *)(x->main + emc_f(b, F_IN));
    int8_t *out = (int8_t *)(x->main + emc_f(b, F_OUT));
    int16_t *cell = (int16_t *)(void *)x->m->scratch;
    for (bi = 0; bi < nb; bi++) {
        memset(cell, 0, 2u * (size_t)nu);
        for (t = 0; t < nt; t++) {
            size_t row = (size_t)bi * nt + t;
            const int8_t *xt = in + row * isz, *h = t ? out + (row - 1) * nu : NULL;
            for (u = 0; u < nu; u++) {
                int32_t z[4], r[4], cv;
                gate_fc4(w_in + (size_t)u * isz, (size_t)nu * isz, xt, isz, bias_in + 4u * u, 4u * nu, mul, sh, z);
                if (h) {
                    gate_fc4(w_rec + (size_t)u * nu, (size_t)nu * nu, h, nu, bias_rec + 4u * u, 4u * nu, mul + 4,
                             sh + 4, r);
                    for (g = 0; g < 4; g++)
                        z[g] = sat16(z[g] + r[g]);
                }
                cv = sat16(sat16(g_mbqm(sigmoid16(z[GATE_F]) * cell[u], emc_fi(b, F_FMUL), emc_fi(b, F_FSHIFT))) +
                           sat16(g_mbqm(sigmoid16(z[GATE_I]) * tanh16(z[GATE_C], 3, 0), emc_fi(b, F_IMUL), emc_fi(b, F_ISHIFT))));
                if (clip >= 0) /* -1: the op has no cell_clip */
                    cv = cv < -clip ? -clip : cv > clip ? clip : cv;
                cell[u] = (int16_t)cv;
                out[row * nu + u] = g_clamp8(g_mbqm(tanh16(cv, tmul, tshift) * sigmoid16(z[GATE_O]),
                                                    emc_fi(b, F_HMUL), emc_fi(b, F_HSHIFT)) + emc_fi(b, F_HZP),
                                             -128, 127);
            }
        }
    }
    emc_out_main(x, emc_f(b, F_OUT), (size_t)nb * nt * nu, EMC_DT_I8);
}

const emc_kernel_t emc_g_lstm = {0x401E, 4 * N_FIELDS, "GENERIC_LSTM", check, run};
