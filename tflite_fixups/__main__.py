"""``python -m tflite_fixups``: see :mod:`tflite_fixups.cli`."""

import sys

from .cli import main

sys.exit(main())
