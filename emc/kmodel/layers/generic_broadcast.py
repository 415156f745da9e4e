"""Body and operand walk shared by the int8 element-wise layers with broadcasting (GENERIC_MUL,
GENERIC_BROADCAST_ADD): TFLM's BroadcastAdd6DSlow / BroadcastMul6DSlow visit the output in raster
order and read each input through strides that are 0 along its broadcast axes; shapes are padded
to 4D at the front. Operand B may be a constant stored in the body (`b_const`, `b_data`)."""
import numpy as np

from .generic_common import GenericLayer, main_i8

DIMS = 4
BROADCAST_FIELDS = ((("flags", "I"), ("main_mem_in_a_address", "I"), ("main_mem_in_b_address", "I"),
                     ("main_mem_out_address", "I"))
                    + tuple((f"out_dim{i}", "I") for i in range(DIMS))
                    + tuple((f"a_stride{i}", "I") for i in range(DIMS))
                    + tuple((f"b_stride{i}", "I") for i in range(DIMS)) + (("b_const", "I"), ("b_count", "I")))


def _strides(shape, out):
    """Element strides of a (front-padded) operand shape inside the output shape; 0 where broadcast."""
    shape = (1,) * (DIMS - len(shape)) + tuple(shape)
    st, acc = [0] * DIMS, 1
    for i in range(DIMS - 1, -1, -1):
        st[i] = 0 if shape[i] == 1 and out[i] != 1 else acc
        acc *= shape[i]
    return st


class GenericBroadcast(GenericLayer):
    """Subclasses add their arithmetic fields after BROADCAST_FIELDS and define `combine(a, b)`
    on int64 arrays of raw int8 values."""
    TAIL = (("b_data", "i1", lambda s: s.b_count if s.b_const else 0),)

    @classmethod
    def operands(cls, ctx, op):
        """(a, b, swapped, broadcast fields) for an ADD/MUL of two tensors, at most one constant
        (made operand B; `swapped` says the file had it first)."""
        a, b = op.inputs[:2]
        ca, cb = ctx.data(a, np.int8), ctx.data(b, np.int8)
        if ca is not None and cb is not None:
            raise ctx.Error(f"{op.name} #{op.index}: both operands are constants")
        swapped = ca is not None
        if swapped:
            a, b, cb = b, a, ca
        ta, tb, to = ctx.tensor(a), ctx.tensor(b), ctx.tensor(op.outputs[0])
        if len(to["shape"]) > DIMS or any(t["dtype"] != "i8" for t in (ta, tb, to)):
            raise ctx.Error(f"{op.name} #{op.index}: int8 operands of rank <= 4 needed")
        out = (1,) * (DIMS - len(to["shape"])) + tuple(to["shape"])
        fields = dict(main_mem_in_a_address=ctx.addr(a), main_mem_in_b_address=0 if cb is not None else ctx.addr(b),
                      main_mem_out_address=ctx.addr(op.outputs[0]), b_const=int(cb is not None),
                      b_count=int(np.prod(tb["shape"])), b_data=cb)
        for name, shape in (("a", ta["shape"]), ("b", tb["shape"])):
            for i, s in enumerate(_strides(shape, out)):
                fields[f"{name}_stride{i}"] = s
        fields.update({f"out_dim{i}": out[i] for i in range(DIMS)})
        return a, b, swapped, fields

    @property
    def out_shape(self):
        return tuple(getattr(self, f"out_dim{i}") for i in range(DIMS))

    @property
    def count(self):
        return int(np.prod(self.out_shape))

    def _extent(self, name):
        """Elements an operand spans: 1 + sum (dim - 1) * stride."""
        return 1 + sum((getattr(self, f"out_dim{i}") - 1) * getattr(self, f"{name}_stride{i}") for i in range(DIMS))

    def reads(self):
        r = [main_i8("main_mem_in_a_address", self.main_mem_in_a_address, self._extent("a"))]
        if not self.b_const:
            r.append(main_i8("main_mem_in_b_address", self.main_mem_in_b_address, self._extent("b")))
        return r

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.count, self.out_shape)]

    def check(self, model):
        big = 1 << 24
        self.check_fields(b_const=(0, 1), b_count=(1, big), **{f"out_dim{i}": (1, big) for i in range(DIMS)},
                          **{f"a_stride{i}": (0, big) for i in range(DIMS)},
                          **{f"b_stride{i}": (0, big) for i in range(DIMS)})
        if self.count > 1 << 26:
            raise self.error(f"output of {self.count} elements is too large", "out_dim0")
        if self.b_const and self._extent("b") > self.b_count:
            raise self.error(f"constant operand has {self.b_count} values, the strides reach {self._extent('b')}",
                             "b_count")
        super().check(model)

    def _gather(self, flat, name):
        idx = np.zeros(self.out_shape, np.int64)
        for i in range(DIMS):
            shape = [1] * DIMS
            shape[i] = -1
            idx = idx + np.arange(self.out_shape[i]).reshape(shape) * getattr(self, f"{name}_stride{i}")
        return flat.astype(np.int64)[idx.reshape(-1)]

    def execute(self, mem):
        a = self._gather(mem.read_main(self.main_mem_in_a_address, self._extent("a"), "i8"), "a")
        b = self.b_data if self.b_const else mem.read_main(self.main_mem_in_b_address, self._extent("b"), "i8")
        out = self.combine(a, self._gather(np.asarray(b), "b"))
        mem.write_main(self.main_mem_out_address, out.astype(np.int8))
