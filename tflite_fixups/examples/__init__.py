"""Runnable examples: ``python -m tflite_fixups.examples.quickstart``."""
