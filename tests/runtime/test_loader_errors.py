"""The loader refuses bad files with a named status and says where (layer, byte offset)."""
import struct

import pytest

from emc.kmodel import KModelError, load


def status(native, data):
    with pytest.raises(native.NativeError) as e:
        native.NativeModel(data)
    return e.value


@pytest.mark.parametrize("name,code", [("nncase_v0.2_iris_v4", "version_v4"), ("nncase_v0.2_slim320_v4", "version_v4")])
def test_v4_refused_with_its_own_code(name, code, kmodels_dir, native):
    assert status(native, (kmodels_dir / f"{name}.kmodel").read_bytes()).status == code


def test_v5_and_other_versions(native):
    assert status(native, b"LDMK" + struct.pack("<I", 5) + bytes(32)).status == "version_v5"
    assert status(native, struct.pack("<7I", 1, 0, 0, 1, 0, 0, 1)).status == "version"
    assert status(native, struct.pack("<7I", 3, 1, 1, 1, 0, 0, 1)).status == "arch"
    assert status(native, b"\x03\x00").status == "truncated"


def test_missing_last_padding_is_tolerated(kmodels_dir, native):
    data = (kmodels_dir / "nncase_v0.1_iris_v3.kmodel").read_bytes()   # 436 bytes, 440 by its table
    native.NativeModel(data)
    assert status(native, data[:-1]).status == "truncated"


def test_errors_name_layer_and_offset(kmodels_dir, native):
    data = bytearray((kmodels_dir / "maixemc_cifar10_v3.kmodel").read_bytes())
    m = load(bytes(data))
    body = m.layers[1].file_offset                    # QUANTIZED_MAX_POOL2D
    struct.pack_into("<I", data, body + 8, 1 << 30)   # main_mem_out_address far outside
    e = status(native, bytes(data))
    assert (e.status, e.layer, e.offset) == ("range", 1, body + 8)
    with pytest.raises(KModelError):                  # the Python loader refuses it too
        load(bytes(data))


def test_unknown_layer_type(kmodels_dir, native):
    data = bytearray((kmodels_dir / "nncase_v0.1_iris_v3.kmodel").read_bytes())
    struct.pack_into("<I", data, 28 + 8, 0x3FFF)      # layer 0 type
    e = status(native, bytes(data))
    assert (e.status, e.layer) == ("layer_type", 0)


def test_fc_rq_fast_claim_is_checked(models_dir, native):
    """FC_RQ_FAST (flags bit 1, set with --fc-weights int16) is a claim both loaders verify: a bias
    at its bound (2^29 - in_depth * 255 * 128, computed here from the definition) is refused at the
    layer's flags field instead of running the DSP kernel's SMMULR epilogue without a scan."""
    from emc.backends.generic import import_tflite
    from emc.kmodel.layers.generic_fully_connected import FC_RQ_FAST
    data = import_tflite((models_dir / "ad01_int8.tflite").read_bytes(), fc_weights="int16").to_bytes()
    m = load(data)
    k, fc = next((k, x) for k, x in enumerate(m.layers) if x.NAME == "GENERIC_FULLY_CONNECTED")
    assert fc.flags & FC_RQ_FAST
    native.NativeModel(data)
    bound = (1 << 29) - fc.in_depth * 255 * 128
    for bias, ok in ((bound - 1, True), (bound, False), (-bound, True), (-bound - 1, False)):
        bad = bytearray(data)
        struct.pack_into("<i", bad, fc.file_offset + 4 * len(fc.FIELDS), bias)
        if ok:
            native.NativeModel(bytes(bad))
            load(bytes(bad))
            continue
        e = status(native, bytes(bad))
        assert (e.status, e.layer, e.offset) == ("body", k, fc.file_offset), bias
        with pytest.raises(KModelError, match="FC_RQ_FAST"):
            load(bytes(bad))
