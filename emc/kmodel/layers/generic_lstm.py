"""GENERIC_LSTM (0x401E): TFLite int8 UNIDIRECTIONAL_SEQUENCE_LSTM ("int8x8_16": int8 input, weights
and hidden state, int16 gates and cell state) as TFLM's integer LSTM (lstm_eval.h), bit for bit.

Per batch row and time step t, for each gate g of input (I), forget (F), cell (C), output (O):
    z_g = sat16(fc(W_g, x_t) + fc(R_g, h)),  fc = int32 matmul + bias, requantized to int16 at 2^-12
    i, f, o = sigmoid16(z);  g = tanh16(z_C)
    c = clip(sat16(mul(f, c) + mul(i, g)));        h = int8(mul(tanh16(c), o) + hidden zero point)
sigmoid16 / tanh16 are TFLM's reference_integer_ops Logistic / Tanh on int16 (a 256-entry
sigmoid table with linear interpolation); mul is MulElementwise with QuantizeMultiplier'd scales.

Everything that depends only on parameters is computed here as TFLM's Prepare does
(PrepareGateParametersInteger, CreateInterGateMulParams, CreateLstmCellStateInfo): the eight
matmul multipliers, the three element-wise multipliers, the cell-state tanh input scaling. The
input and hidden zero points are folded into the biases (sum w*(x - zp) = sum w*x - zp*sum w, exact
in int32), so the kernel multiplies raw bytes. The recurrent term of step 0 is zero (h starts at
its zero point, as TFLM's variable tensors after reset), the hidden state of step t is output row
t - 1, and the cell state (int16, batch row at a time) is CPU scratch.

State: each inference starts from a zero state (a Keras stateful=False LSTM). TFLM keeps its
variable tensors across invoke() until reset(), so it is compared after a reset.
"""
import math

import numpy as np

from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, GenericLayer, clamp_i8, main_i8
from .generic_math import mbqm, quantize_multiplier

F32 = np.float32
I16_MIN, I16_MAX = -32768, 32767
GATE_I, GATE_F, GATE_C, GATE_O = range(4)   # TFLite's order of the gate weights and biases
GATE_FC_SCALE = 2.0 ** -12              # int16 Q3.12: the matmul output, sigmoid/tanh input
GATE_OUT_SCALE = 2.0 ** -15             # int16 Q0.15: sigmoid/tanh output
# TFLite operator inputs (lstm_shared.h): input, 4 input weights, 4 recurrent weights (I F C O), 3 peephole
# weights, 4 gate biases, projection weights and bias, hidden state, cell state, 4 layer-norm coefficients
IN_X, IN_W, IN_R, IN_BIAS, IN_H, IN_C = 0, 1, 5, 12, 18, 19
UNUSED = (9, 10, 11, 16, 17, 20, 21, 22, 23)
# the cell gate's activation: TFLM runs tanh or sigmoid, and the schema's ActivationFunctionType can name only tanh
ACT_TANH = 4

# sigmoid(k / 24) in 0.16 fixed point, k = 0..255: the table of TFLite's int16 Logistic and Tanh
# (tensorflow/lite/kernels/internal/common.h); runtime_c/kernels/generic/g_lstm.c has the same one
SIGMOID_TABLE = np.array([
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
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535], np.int64)


def sigmoid16(x):
    """reference_integer_ops::Logistic on int16 with input_multiplier 0, left shift 0 (Q3.12 in)."""
    v = np.asarray(x, np.int64) * 3
    a = np.abs(v)
    hi = np.minimum(a >> 9, 254)
    lo_v, hi_v = SIGMOID_TABLE[hi], SIGMOID_TABLE[hi + 1]
    r = np.where(a >> 9 >= 255, 0x7FFF << 10, (lo_v << 9) + (a & 0x1FF) * (hi_v - lo_v))
    r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
    return r >> 10


def tanh16(x, multiplier, shift):
    """reference_integer_ops::Tanh on int16 with the input scaling already resolved to
    (x * multiplier + round) >> shift."""
    rnd = (1 << (shift - 1)) if shift > 0 else 0
    v = (np.asarray(x, np.int64) * multiplier + rnd) >> shift
    a = np.abs(v)
    hi = np.minimum(a >> 8, 254)
    lo_v, hi_v = SIGMOID_TABLE[hi], SIGMOID_TABLE[hi + 1]
    r = np.where(a >> 8 >= 255, 0xFFFF << 8, (lo_v << 8) + (a & 0xFF) * (hi_v - lo_v))
    r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
    return r >> 8


def tanh_input_scaling(scale_power):
    """lstm_internal::Tanh: an int16 input of scale 2^scale_power to Tanh's (multiplier, shift),
    with Tanh's own `multiplier == 0` case (a power of two, 3 << shift) resolved."""
    left = 15 + scale_power - 3
    if left < 0:
        return 3, -left
    return 3 << left, 0


GATE_TANH = tanh_input_scaling(-12)     # the cell gate's tanh: its Q3.12 input (scale 2^-12)


def checked_log2(x):
    """tflite::CheckedLog2's rounded value (float32 log, round half away from zero)."""
    v = float(np.log(F32(x)) * (F32(1.0) / np.log(F32(2.0))))
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _sat16(v):
    return np.clip(v, I16_MIN, I16_MAX)


def _wrap32(v):
    return ((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


class GenericLstm(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 30, "GENERIC_LSTM"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("batches", "I"),
              ("time_steps", "I"), ("input_size", "I"), ("units", "I"), ("hidden_zp", "i"),
              ("cell_clip", "i"), ("cell_tanh_multiplier", "I"), ("cell_tanh_shift", "I"),
              ("forget_mul_multiplier", "i"), ("forget_mul_shift", "i"), ("input_mul_multiplier", "i"),
              ("input_mul_shift", "i"), ("hidden_mul_multiplier", "i"), ("hidden_mul_shift", "i"))
    # per gate (I F C O): input matmul then recurrent matmul multiplier / shift; biases with the
    # zero points folded in (input biases, then recurrent ones), then int8 weights [gate][unit][k]
    TAIL = (("fc_multiplier", "<i4", lambda s: 8), ("fc_shift", "<i4", lambda s: 8),
            ("input_bias", "<i4", lambda s: 4 * s.units), ("recurrent_bias", "<i4", lambda s: 4 * s.units),
            ("input_weights", "i1", lambda s: 4 * s.units * s.input_size),
            ("recurrent_weights", "i1", lambda s: 4 * s.units * s.units))
    TFLITE_OPS = ("UNIDIRECTIONAL_SEQUENCE_LSTM",)

    @classmethod
    def from_tflite(cls, ctx, op):
        ins, where = op.inputs, f"{op.name} #{op.index}"
        if len(ins) != 24 or len(op.outputs) != 1:
            raise ctx.Error(f"{where}: {len(ins)} inputs / {len(op.outputs)} outputs, TFLM takes 24 / 1")
        for k in UNUSED:
            if ins[k] is not None:
                raise ctx.Error(f"{where}: input {k} ({ctx.tensor(ins[k])['name']!r}) is a peephole, projection or "
                                "layer-norm tensor; only the plain LSTM is supported")
        opt = op.options("UnidirectionalSequenceLSTMOptions")
        if opt.TimeMajor():
            raise ctx.Error(f"{where}: time_major inputs are not supported (Keras LSTMs are batch-major)")
        act = opt.FusedActivationFunction()
        if act != ACT_TANH:
            raise ctx.Error(f"{where}: cell gate activation {act} is not supported (TFLM runs tanh)")
        x, h, c, out = (ctx.tensor(ins[IN_X]), ctx.tensor(ins[IN_H]), ctx.tensor(ins[IN_C]),
                        ctx.tensor(op.outputs[0]))
        for t, dt in ((x, "i8"), (h, "i8"), (c, "i16"), (out, "i8")):
            if t["dtype"] != dt:
                raise ctx.Error(f"{where}: tensor {t['name']!r} is {t['dtype']}, the int8 LSTM needs {dt}")
        if len(x["shape"]) != 3:
            raise ctx.Error(f"{where}: input {x['name']!r} has shape {x['shape']}, expected [batch, time, features]")
        batches, steps, isz = x["shape"]
        units = int(np.prod(h["shape"])) // max(batches, 1)
        if out["shape"] != (batches, steps, units) or int(np.prod(c["shape"])) != batches * units:
            raise ctx.Error(f"{where}: output {out['shape']} / states do not match input {x['shape']}, {units} units")
        xs, xz = ctx.q(ins[IN_X])
        hs, hz = ctx.q(ins[IN_H])
        cs, _ = ctx.q(ins[IN_C])
        mult, shift, in_w, rec_w, in_b, rec_b = [], [], [], [], [], []
        for g in range(4):
            for src, (s_in, zp_in), k, n, ws, bs in ((x, (xs, xz), IN_W + g, isz, in_w, in_b),
                                                  (h, (hs, hz), IN_R + g, units, rec_w, rec_b)):
                w = ctx.tensor(ins[k])
                data = ctx.data(ins[k], np.int8)
                if w["dtype"] != "i8" or w["shape"] != (units, n) or data is None:
                    raise ctx.Error(f"{where}: weights {w['name']!r} must be constant int8 [{units}, {n}], "
                                    f"are {w['dtype']} {w['shape']}")
                if w["scale"].size != 1 or (w["zp"].size and w["zp"][0] != 0):
                    raise ctx.Error(f"{where}: weights {w['name']!r} need one scale and zero point 0 "
                                    "(TFLM's LSTM has no per-channel weights)")
                # CalculateOpDataFullyConnected -> GetQuantizedConvolutionMultipler: float product, double division
                m_, s_ = quantize_multiplier(float(F32(s_in) * F32(w["scale"][0])) / GATE_FC_SCALE)
                mult.append(m_)
                shift.append(s_)
                w2 = data.astype(np.int64).reshape(units, n)
                ws.append(data)
                bs.append(-zp_in * w2.sum(axis=1))
            b = ctx.tensor(ins[IN_BIAS + g])
            bias = ctx.data(ins[IN_BIAS + g], "<i4")
            if b["dtype"] != "i32" or bias is None or bias.size != units:
                raise ctx.Error(f"{where}: bias {b['name']!r} must be constant int32 [{units}]")
            in_b[g] = in_b[g] + bias
        # CreateInterGateMulParams: double products and quotient of the float scales
        fm, fs = quantize_multiplier(GATE_OUT_SCALE * float(F32(cs)) / float(F32(cs)))
        im, is_ = quantize_multiplier(GATE_OUT_SCALE * GATE_OUT_SCALE / float(F32(cs)))
        hm, hsh = quantize_multiplier(GATE_OUT_SCALE * GATE_OUT_SCALE / float(F32(hs)))
        tm, ts = tanh_input_scaling(checked_log2(cs))
        # CreateLstmCellStateInfo: the clip in cell-state units, double quotient truncated to int16;
        # the converter writes Keras LSTMs' cell_clip 10.0, so at scale 2^-15 the cell stays in +-32767
        clip = float(F32(opt.CellClip()))
        qclip = int(min(max(clip / float(F32(cs)), -32768.0), 32767.0)) if clip > 0 else -1
        return cls(main_mem_in_address=ctx.addr(ins[IN_X]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   batches=batches, time_steps=steps, input_size=isz, units=units, hidden_zp=hz,
                   cell_clip=qclip, cell_tanh_multiplier=tm, cell_tanh_shift=ts,
                   forget_mul_multiplier=fm, forget_mul_shift=fs, input_mul_multiplier=im, input_mul_shift=is_,
                   hidden_mul_multiplier=hm, hidden_mul_shift=hsh, fc_multiplier=mult, fc_shift=shift,
                   input_bias=_wrap32(np.concatenate(in_b)), recurrent_bias=_wrap32(np.concatenate(rec_b)),
                   input_weights=np.concatenate(in_w), recurrent_weights=np.concatenate(rec_w))

    def macs(self):
        return self.batches * self.time_steps * 4 * self.units * (self.input_size + self.units)

    def parameter_bytes(self):
        return sum(getattr(self, n).nbytes for n in ("input_bias", "recurrent_bias", "input_weights",
                                                     "recurrent_weights"))

    def cpu_scratch(self):
        return 2 * self.units           # the int16 cell state of one batch row

    def overlap_lag(self):
        return None                     # every step reads input rows after earlier output rows are written

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address,
                        self.batches * self.time_steps * self.input_size)]

    def writes(self):
        n = self.batches * self.time_steps * self.units
        return [main_i8("main_mem_out_address", self.main_mem_out_address, n,
                        (self.batches, self.time_steps, self.units))]

    def check(self, model):
        big = 1 << 16
        self.check_fields(batches=(1, big), time_steps=(1, big), input_size=(1, big), units=(1, big),
                          hidden_zp=(I8_MIN, I8_MAX), cell_clip=(-1, I16_MAX),
                          cell_tanh_multiplier=(1, 3 << 14),
                          cell_tanh_shift=(0, 30), forget_mul_shift=(-31, 30), input_mul_shift=(-31, 30),
                          hidden_mul_shift=(-31, 30))
        if np.any((self.fc_shift < -31) | (self.fc_shift > 30)):
            raise self.error("shift out of range -31..30", "fc_shift")
        super().check(model)

    def execute(self, mem):
        b_, t_, n, u = self.batches, self.time_steps, self.input_size, self.units
        x = mem.read_main(self.main_mem_in_address, b_ * t_ * n, "i8").astype(np.int64).reshape(b_, t_, n)
        w = self.input_weights.astype(np.int64).reshape(4, u, n)
        r = self.recurrent_weights.astype(np.int64).reshape(4, u, u)
        bw, br = self.input_bias.astype(np.int64).reshape(4, u), self.recurrent_bias.astype(np.int64).reshape(4, u)
        m, s = self.fc_multiplier.astype(np.int64), self.fc_shift.astype(np.int64)
        out = np.zeros((b_, t_, u), np.int8)
        for b in range(b_):
            cell = np.zeros(u, np.int64)
            for t in range(t_):
                z = _sat16(mbqm(_wrap32(w @ x[b, t] + bw), m[0::2, None], s[0::2, None]))
                if t:                   # h - zero point is 0 before the first step: no recurrent term
                    h = out[b, t - 1].astype(np.int64)
                    z = _sat16(z + _sat16(mbqm(_wrap32(r @ h + br), m[1::2, None], s[1::2, None])))
                ig, fg, og = sigmoid16(z[GATE_I]), sigmoid16(z[GATE_F]), sigmoid16(z[GATE_O])
                cg = tanh16(z[GATE_C], *GATE_TANH)
                cell = _sat16(_sat16(mbqm(fg * cell, self.forget_mul_multiplier, self.forget_mul_shift))
                              + _sat16(mbqm(ig * cg, self.input_mul_multiplier, self.input_mul_shift)))
                if self.cell_clip >= 0:         # -1: the op has no cell_clip
                    cell = np.clip(cell, -self.cell_clip, self.cell_clip)
                hc = tanh16(cell, self.cell_tanh_multiplier, self.cell_tanh_shift)
                out[b, t] = clamp_i8(mbqm(hc * og, self.hidden_mul_multiplier, self.hidden_mul_shift)
                                     + self.hidden_zp, I8_MIN, I8_MAX)
        mem.write_main(self.main_mem_out_address, out.reshape(-1))
