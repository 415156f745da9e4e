"""Calibration data, activation range estimation and K210 weight quantization."""
from .dataset import CalibrationData, DatasetError, load_dataset
from .calibrate import calibrate, METHODS
from .weights import quantize_weights_shared_zp

__all__ = ["CalibrationData", "DatasetError", "load_dataset", "calibrate", "METHODS",
           "quantize_weights_shared_zp"]
