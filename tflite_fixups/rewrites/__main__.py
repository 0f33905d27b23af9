"""``python -m tflite_fixups.rewrites``: print the rule catalogue as a Markdown table."""

from . import catalogue_markdown

print(catalogue_markdown())
