"""Quantization: representative-data checks, calibration coverage, per-layer error, fake quantization."""
