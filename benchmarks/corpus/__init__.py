"""A corpus of public architectures with random weights, for ``bench_corpus.py`` and ``tests/test_corpus.py``.

Nothing downloads: keras.applications and tf_keras.applications are built with ``weights=None``,
keras-hub backbones from their constructors in tiny configurations (no presets), and every
sample input is generated (token ids inside the vocabulary, 0/1 padding masks, segment ids in
range, images in the range the model expects).

    from corpus import DEVELOPMENT, HELD_OUT, ALL, by_name
    entry = by_name("k3_efficientnet_b0")
    model = entry.build()
    result = entry.run(model, entry.samples())   # the call a user would make
"""

from .architectures import ALL, DEVELOPMENT, HELD_OUT, Entry, by_name

__all__ = ["ALL", "DEVELOPMENT", "HELD_OUT", "Entry", "by_name"]
