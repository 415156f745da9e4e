"""MLPerf Tiny's person-detection MobileNet v1 0.25 (tests/data/vww_96_int8.tflite) as a float Keras model.

The int8 file's weights are dequantized (per-channel int8 * scale, biases int32 * scale) with LiteRT's
interpreter (independent of emc's own .tflite reader) into a Keras MobileNet v1 0.25 with ReLU (as trained),
GlobalAveragePooling instead of the file's 3x3 AvgPool (the same at 96x96; at 128x128 the network is
fully convolutional up to there), so it runs at any input size. Real trained weights without downloads."""
from __future__ import annotations

import numpy as np

from emc.hil.cases import data_file


def _dequantized_weights():
    """[(kind, weights, bias)] in file order: kind 'conv' (OHWI), 'dw' (1HWC) or 'dense' (OI)."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(data_file("vww_96_int8.tflite")))
    it.allocate_tensors()
    det = {d["index"]: d for d in it.get_tensor_details()}

    def const(i):
        d = det[i]
        q = d["quantization_parameters"]
        a = it.get_tensor(i).astype(np.float64)
        s, z, ax = q["scales"], q["zero_points"], q["quantized_dimension"]
        shape = [1] * a.ndim
        shape[ax] = -1
        return ((a - z.reshape(shape)) * s.reshape(shape)).astype(np.float32)

    out = []
    for op in it._get_ops_details():
        kind = {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dw", "FULLY_CONNECTED": "dense"}.get(op["op_name"])
        if kind:
            ins = op["inputs"]
            out.append((kind, const(ins[1]), const(ins[2])))
    return out


def vww_mobilenet(size=128, name="vww_mobilenet_025", head=None):
    """The float network; `head` = (W (256, K), b (K,)) replaces the 2-class person/no-person layer, or
    'features' ends the model at the 256 global-average-pooled features."""
    import keras
    from keras import layers as L
    ws = _dequantized_weights()
    i = keras.Input((size, size, 3))
    x = i
    for n, (kind, w, b) in enumerate(ws):
        if kind == "conv":
            stride = 2 if n == 0 else 1
            lay = L.Conv2D(w.shape[0], w.shape[1], strides=stride, padding="same", activation="relu")
            x = lay(x)
            lay.set_weights([w.transpose(1, 2, 3, 0), b])
        elif kind == "dw":
            c = w.shape[3]
            stride = 2 if (n, c) in _DW_STRIDE2 else 1
            lay = L.DepthwiseConv2D(3, strides=stride, padding="same", activation="relu")
            x = lay(x)
            lay.set_weights([w.transpose(1, 2, 3, 0), b])
        else:
            x = L.GlobalAveragePooling2D()(x)
            if head == "features":
                break
            hw, hb = (w.T, b) if head is None else head
            lay = L.Dense(hw.shape[1], activation="softmax")
            x = lay(x)
            lay.set_weights([hw, hb])
    return keras.Model(i, x, name=name)


def cluster_head(features, k=16, seed=0, iters=30):
    """A K-class nearest-centroid head over the backbone features: k-means centroids c_j give logits
    2 f.c_j - |c_j|^2 (argmax = the nearest centroid). The person/no-person head answers 'no person' for
    nearly every synthetic image, so its top-1 agreement says nothing; this head makes top-1 agreement a
    sensitive measure of how well the 8-bit features stay in their float Voronoi cell."""
    rng = np.random.default_rng(seed)
    f = np.asarray(features, np.float64)
    c = f[rng.choice(len(f), k, replace=False)]
    for _ in range(iters):
        lab = ((f[:, None, :] - c[None]) ** 2).sum(-1).argmin(1)
        c = np.stack([f[lab == j].mean(0) if np.any(lab == j) else c[j] for j in range(k)])
    scale = 1.0 / max(float(np.abs(2 * c).max()), 1e-6) * 10     # softmax that is not saturated
    return ((2 * c.T) * scale).astype(np.float32), (-(c ** 2).sum(1) * scale).astype(np.float32)


# (file op index, channels) of the stride-2 depthwise convs of MobileNet v1 0.25 (blocks 2, 4, 6, 12)
_DW_STRIDE2 = {(3, 16), (7, 32), (11, 64), (23, 128)}


def eval_images(n=200, size=128, seed=0):
    """n uint8 HWC images: half random crops / flips / rescales of emc/data/maixemc_plane_input.bmp
    (a real photo, 32x32, upscaled), half smooth random images (low-frequency colour waves and blobs)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    plane = Image.open(data_file("maixemc_plane_input.bmp")).convert("RGB")
    imgs = []
    yy, xx = np.mgrid[0:size, 0:size] / size
    for k in range(n):
        if k % 2 == 0:
            c = int(rng.integers(16, 33))
            x0, y0 = rng.integers(0, 33 - c, 2)
            im = plane.crop((int(x0), int(y0), int(x0) + c, int(y0) + c)).resize((size, size), Image.BILINEAR)
            a = np.asarray(im, np.float32)
            if rng.random() < 0.5:
                a = a[:, ::-1]
            a = a * rng.uniform(0.7, 1.2) + rng.uniform(-30, 30)
        else:
            a = np.zeros((size, size, 3), np.float32)
            for _ in range(3):
                fx, fy = rng.uniform(-3, 3, 2)
                a += rng.uniform(20, 60, 3) * np.sin(2 * np.pi * (fx * xx + fy * yy)[..., None] + rng.uniform(0, 6, 3))
            for _ in range(2):
                cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
                a += rng.uniform(-80, 80, 3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))[..., None]
            a += 128
        imgs.append(np.clip(np.round(a), 0, 255).astype(np.uint8))
    return np.stack(imgs)
