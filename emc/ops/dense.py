"""dense: weights (N in, N out) on the flattened input, optional bias (N out); carries an activation.
On the K210 an f32 FULLY_CONNECTED CPU layer, or with --dense-on-kpu a 1x1 KPU conv on a 4x4 padded map."""
from __future__ import annotations

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import OpDef, register
from ..kmodel.layers import FullyConnected, Logistic
from . import tf_emit

# the activations FULLY_CONNECTED applies itself (its `act` field)
FC_ACT = {"linear": 0, "relu": 1, "relu6": 2}


@register
class Dense(OpDef):
    TYPE = "dense"
    CARRIES_ACTIVATION = True
    ABSORBS_ACTIVATION = True
    ABSORBS_BATCH_NORM = True
    K210_VECTOR_IN = True

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        n = int(np.prod(s))
        if attrs["weights"].shape[0] != n:
            raise IRError(f"weights expect {attrs['weights'].shape[0]} inputs, got {s}")
        return (attrs["weights"].shape[1],)

    def run_float(self, attrs, xs):
        x = xs[0]
        y = x.reshape(x.shape[0], -1) @ attrs["weights"]
        if attrs.get("bias") is not None:
            y = y + attrs["bias"]
        return y

    def macs(self, attrs, in_shapes, out_shape):
        return int(np.prod(attrs["weights"].shape))

    def to_tf(self, tf, xs, attrs):
        x = tf.reshape(xs[0], (-1, int(np.prod(xs[0].shape[1:]))))
        return tf_emit.bias_act(tf, tf.matmul(x, tf_emit.const(tf, attrs["weights"])), attrs)

    def lower_k210(self, comp, op):
        src_t, out, name = op.inputs[0], op.outputs[0], op.name
        W = np.asarray(op.attrs["weights"], np.float32)
        n_in, n_out = W.shape
        perm = comp.chw_flat.get(src_t)
        if perm is not None:
            h, w, c = perm
            idx = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
            W = W[idx]                                  # rows in CHW order
        act = op.attrs.get("act", "linear")
        if comp.opt.dense_on_kpu and n_in <= 1024 and n_out <= 1024:
            p = comp.kpu_conv_params(op, W.T[:, :, None, None], src_t, out)
            if p is None:
                return
            return comp.padded_1x1(name, src_t, n_in, p, n_out, out)
        if act not in FC_ACT and act != "sigmoid":
            return comp.bad.append((name, op.source_type or self.TYPE, f"activation {act} after a CPU dense layer"))
        src = comp.need_f32(src_t)
        ob = comp.buf("main", 4 * n_out, out + ":f32", "f32")
        b = op.attrs.get("bias")
        lay = FullyConnected(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_channels=n_in,
                             out_channels=n_out, act=FC_ACT.get(act, 0), weights=W.T.copy(),
                             bias=np.zeros(n_out, np.float32) if b is None else b)
        comp.emit_io(lay, name, src, ob, (n_in,), (n_out,), f"f32 act={act}")
        if act == "sigmoid":            # FULLY_CONNECTED has no sigmoid: LOGISTIC in place after it
            lay = Logistic(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=n_out)
            comp.emit_io(lay, name, ob, ob, (n_out,), (n_out,), "sigmoid")
        comp.homes[out] = {"f32": ob}
