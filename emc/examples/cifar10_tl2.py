"""The original Maix-EMC CIFAR-10 example network in TensorLayer 2, rebuilt from the layer names and
shapes stored in its weight file (maixemc_cifar10_tl2.h5):

    input 32x32x3 -> conv1 3x3x32 SAME -> batch1 BN+ReLU -> pool1 max 3x3/2 SAME
                  -> conv2 3x3x64 SAME -> batch2 BN+ReLU -> pool2 max 3x3/2 SAME
                  -> flatten (4096) -> denserelu 16 ReLU -> output 10

Usage (the seed's API):
    net = build_cifar10_tl2(); load_h5_weights(net, "maixemc_cifar10_tl2.h5"); net.eval()
    emc.save_kmodel(net, "cifar10.kmodel", "calib_images/", "img_0_1", "minmax", 8, 3)
"""
from __future__ import annotations

import numpy as np


def build_cifar10_tl2(name="cnn"):
    import tensorflow as tf
    import tensorlayer as tl
    from tensorlayer.layers import BatchNorm, Conv2d, Dense, Flatten, Input, MaxPool2d

    ni = Input([None, 32, 32, 3], name="_inputlayer_1")
    nn = Conv2d(32, (3, 3), (1, 1), padding="SAME", name="conv1")(ni)
    nn = BatchNorm(decay=0.99, epsilon=1e-5, act=tf.nn.relu, name="batch1")(nn)
    nn = MaxPool2d((3, 3), (2, 2), padding="SAME", name="pool1")(nn)
    nn = Conv2d(64, (3, 3), (1, 1), padding="SAME", name="conv2")(nn)
    nn = BatchNorm(decay=0.99, epsilon=1e-5, act=tf.nn.relu, name="batch2")(nn)
    nn = MaxPool2d((3, 3), (2, 2), padding="SAME", name="pool2")(nn)
    nn = Flatten(name="flatten")(nn)
    nn = Dense(16, act=tf.nn.relu, name="denserelu")(nn)
    nn = Dense(10, act=None, name="output")(nn)
    return tl.models.Model(inputs=ni, outputs=nn, name=name)


def load_h5_weights(model, path):
    """Assign a TensorLayer 2 .h5 weight file with h5py (TensorLayer's loader needs h5py < 3);
    reshapes the (1,1,1,C) BatchNorm parameters of the seed's file."""
    import h5py
    with h5py.File(path, "r") as f:
        for layer in model.all_layers:
            if layer.name not in f:
                continue
            grp = f[layer.name]
            stored = {}
            for wn in grp.attrs.get("weight_names", []):
                wn = wn.decode() if isinstance(wn, bytes) else str(wn)
                stored[wn.split("/")[-1]] = np.asarray(grp[wn])
            for var in layer.all_weights:
                key = var.name.split("/")[-1]
                if key not in stored:
                    raise KeyError(f"{path}: no weights for {var.name}")
                var.assign(stored[key].reshape(tuple(var.shape)))
    return model


def main(argv=None):
    """python -m emc.examples.cifar10_tl2 WEIGHTS.h5 CALIB_DIR OUT.kmodel — the seed example end to end."""
    import argparse
    import emc
    ap = argparse.ArgumentParser(prog="python -m emc.examples.cifar10_tl2")
    ap.add_argument("weights")
    ap.add_argument("dataset")
    ap.add_argument("output")
    a = ap.parse_args(argv)
    net = build_cifar10_tl2()
    load_h5_weights(net, a.weights)
    net.eval()
    rep = emc.save_kmodel(net, a.output, a.dataset, "img_0_1", "minmax", 8, 3)
    print(rep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
