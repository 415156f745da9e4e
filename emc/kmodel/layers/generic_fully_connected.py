"""GENERIC_FULLY_CONNECTED (0x4003): TFLite int8 FULLY_CONNECTED as TFLM's reference
FullyConnected: acc = sum (w + filter_offset) * (x + input_offset) + bias, requantized with one
multiplier (per tensor) or one per output channel.

Body-layout variant (flags bit 0, FC_WEIGHTS_I16): the weights are stored as little-endian int16
(the same values, twice the flash) so the Cortex-M DSP kernel feeds SMLAD from one LDR per two
weights without sign extension (`emc convert --target generic --fc-weights int16`). Its kernels
then expand the input (+ input offset) to int16 in CPU scratch, FC_I16_CHUNK inputs at a time,
with the running sums of the rows in the scratch when the input takes more than one chunk.

Flags bit 1 (FC_RQ_FAST, set with the int16 layout when it holds): every channel's requantization
fits the fast form (`rq_fast_ok`), so the DSP kernel takes its SMMULR epilogue without scanning
the biases and shifts at each invoke. Both loaders reject the bit when a channel breaks it; it
changes no result."""
import numpy as np

from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, GenericLayer, clamp_i8, main_i8
from .generic_math import mbqm, quantize_multiplier

F32 = np.float32
FC_WEIGHTS_I16 = 1          # flags bit: int16 weights
FC_RQ_FAST = 2              # flags bit: the claim of rq_fast_ok(), checked by the loaders
FC_FLAGS = FC_WEIGHTS_I16 | FC_RQ_FAST
FC_I16_CHUNK = 256          # inputs expanded to int16 per pass (a multiple of 4)


class GenericFullyConnected(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 3, "GENERIC_FULLY_CONNECTED"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
              ("batches", "I"), ("in_depth", "I"), ("out_depth", "I"), ("input_offset", "i"),
              ("filter_offset", "i"), ("output_offset", "i"), ("act_min", "i"), ("act_max", "i"),
              ("per_channel", "I"))
    TAIL = (("bias", "<i4", lambda s: s.out_depth), ("multiplier", "<i4", lambda s: s.out_depth if s.per_channel else 1),
            ("shift", "<i4", lambda s: s.out_depth if s.per_channel else 1),
            ("weights", lambda s: "<i2" if s.flags & FC_WEIGHTS_I16 else "i1", lambda s: s.out_depth * s.in_depth))

    TFLITE_OPS = ("FULLY_CONNECTED",)

    @classmethod
    def from_tflite(cls, ctx, op):
        ins, outs = op.inputs, op.outputs
        x, w = ctx.tensor(ins[0]), ctx.tensor(ins[1])
        opt = op.options("FullyConnectedOptions")
        od, idp = w["shape"]
        batches = int(np.prod(x["shape"])) // idp
        xs, xz = ctx.q(ins[0])
        os_, oz = ctx.q(outs[0])
        if not w["scale"].size:             # an int8 model whose weights lost their quantization
            raise ctx.Error(f"{op.name} #{op.index}: weights {w['name']!r} have no quantization parameters")
        per_ch = w["scale"].size > 1
        # TFLM GetQuantizedConvolutionMultipler: float product, then double division
        scales = w["scale"] if per_ch else w["scale"][:1]
        mult, shift = zip(*(quantize_multiplier(float(F32(xs) * F32(s)) / float(os_)) for s in scales))
        bias = ctx.data(ins[2], "<i4") if len(ins) > 2 and ins[2] is not None else None
        lo, hi = ctx.act_range(opt.FusedActivationFunction(), os_, oz)
        layer = cls(main_mem_in_address=ctx.addr(ins[0]), main_mem_out_address=ctx.addr(outs[0]), batches=batches,
                    in_depth=idp, out_depth=od, input_offset=-xz,
                    filter_offset=-int(w["zp"][0]) if w["zp"].size else 0, output_offset=oz, act_min=lo, act_max=hi,
                    per_channel=int(per_ch), bias=np.zeros(od, np.int32) if bias is None else bias, multiplier=mult,
                    shift=shift, weights=ctx.data(ins[1], np.int8))
        return layer.with_int16_weights() if ctx.fc_weights == "int16" else layer

    def with_int16_weights(self):
        """This layer with the FC_WEIGHTS_I16 layout (same arithmetic)."""
        self.flags |= FC_WEIGHTS_I16 | (FC_RQ_FAST if self.rq_fast_ok() else 0)
        self.weights = self.weights.astype(np.int16)
        return self

    def rq_fast_ok(self):
        """Every shift in [-31, -1], no multiplier INT32_MIN, and every bias in [-bound, bound) with
        bound = 2^29 - in_depth * (255 * 128 (+ 255 * 255 with a weight offset)) (0 when that sum
        reaches 2^28): then |acc| < 2^29 for any input and the DSP's SMMULR requantization is exact
        (emc_dsp.h dsp_rq_fast; the C loader checks the same, g_fully_connected.c)."""
        max_sum = self.in_depth * 32640 + (self.in_depth * 255 * 255 if self.filter_offset else 0)
        bound = (1 << 29) - max_sum if max_sum < (1 << 28) else 0
        bias, shift = np.asarray(self.bias, np.int64), np.asarray(self.shift, np.int64)
        return bool(np.all((shift >= -31) & (shift <= -1)) and np.all(np.asarray(self.multiplier, np.int64) != -2**31)
                    and np.all((bias >= -bound) & (bias < bound)))

    def cpu_scratch(self):
        """int16 layout: the input chunk as int16 (+ one int32 sum per row when id > one chunk);
        the same formula as the C check (g_fully_connected.c)."""
        if not self.flags & FC_WEIGHTS_I16:
            return 0
        if self.in_depth <= FC_I16_CHUNK:
            return 2 * ((self.in_depth + 3) // 4 * 4)
        return 2 * FC_I16_CHUNK + 4 * self.out_depth

    def macs(self):
        return self.batches * self.in_depth * self.out_depth

    def overlap_lag(self):
        """A batch row is written after its whole input row is read."""
        b = np.arange(self.batches)
        return max(0, int(((b + 1) * self.out_depth - b * self.in_depth).max()))

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.batches * self.in_depth)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.batches * self.out_depth,
                        (self.batches, self.out_depth))]

    def check(self, model):
        big = 1 << 24
        if self.flags & ~FC_FLAGS:
            raise self.error(f"flags 0x{self.flags:x} has unknown bits", "flags")
        self.check_fields(batches=(1, big), in_depth=(1, big), out_depth=(1, big), input_offset=(-127, 128),
                          filter_offset=(-127, 128), output_offset=(I8_MIN, I8_MAX), act_min=(I8_MIN, I8_MAX),
                          act_max=(self.act_min, I8_MAX), per_channel=(0, 1))
        if np.any((self.shift < -31) | (self.shift > 30)):
            raise self.error("shift out of range -31..30", "shift")
        if self.flags & FC_RQ_FAST and not self.rq_fast_ok():
            raise self.error("flags bit 1 (FC_RQ_FAST) set but a channel's bias, multiplier or shift breaks it", "flags")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.batches * self.in_depth, "i8").astype(np.int64)
        x = x.reshape(self.batches, self.in_depth) + self.input_offset
        w = self.weights.astype(np.int64).reshape(self.out_depth, self.in_depth) + self.filter_offset
        acc = x @ w.T + self.bias.astype(np.int64)
        acc = mbqm(acc, self.multiplier.astype(np.int64), self.shift.astype(np.int64)) + self.output_offset
        mem.write_main(self.main_mem_out_address, clamp_i8(acc, self.act_min, self.act_max).reshape(-1))
