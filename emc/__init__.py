"""EMC - Embedded/Edge Model Convertor.

Trained networks (TensorLayer 2, Keras, TFLite) -> kmodel v3 for the Kendryte K210 KPU or a
generic int8 Cortex-M profile, with a bit-exact numpy reference of the device arithmetic.
"""
__version__ = "0.1.0"


def save_kmodel(network, filepath, dataset_dir=None, dataset_func="img_0_1", quant_func="minmax",
                quant_bit=8, version=3, **kwargs):
    """The original Maix-EMC entry point (kept for its users); see emc.convert.save_kmodel."""
    from emc.convert import save_kmodel as _save
    return _save(network, filepath, dataset_dir, dataset_func, quant_func, quant_bit, version, **kwargs)
