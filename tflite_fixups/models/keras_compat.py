"""Tell Keras 3 and tf-keras (Keras 2) models apart without importing either eagerly."""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Optional, Sequence

KERAS3 = "keras3"
TF_KERAS = "tf_keras"
KERAS_KINDS = (KERAS3, TF_KERAS)


def keras_flavour(obj: Any) -> Optional[str]:
    """``"keras3"``, ``"tf_keras"`` or ``None`` for an object that is not a Keras model."""
    keras = sys.modules.get("keras")
    if keras is not None and _is_keras3_module(keras) and isinstance(obj, keras.Model):
        return KERAS3
    tf_keras = sys.modules.get("tf_keras")
    if tf_keras is not None and isinstance(obj, tf_keras.Model):
        return TF_KERAS
    return None


def _is_keras3_module(module: Any) -> bool:
    version = getattr(module, "__version__", "0")
    return version.split(".")[0] == "3"


def legacy_keras_requested() -> bool:
    """True when the user asked TF for Keras 2 through ``TF_USE_LEGACY_KERAS``."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in ("1", "true", "yes")


def keras_module(flavour: str):
    """The Keras package of a flavour (imported on demand)."""
    if flavour == KERAS3:
        import keras

        return keras
    import tf_keras

    return tf_keras


def default_flavour() -> str:
    """The flavour ``tf.keras`` resolves to in this process."""
    return TF_KERAS if legacy_keras_requested() else KERAS3


def model_layers(model: Any) -> list:
    """All layers of a Keras model, nested models flattened, outermost first."""
    found = []
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop(0)
        found.append(layer)
        stack.extend(getattr(layer, "layers", []) or [])
    return found


_SUFFIX = re.compile(r"^(.*)_\d+$")


def layer_names(model: Any) -> Sequence[str]:
    """Names of every layer of a SignatureModel's Keras source (nested ones too); () for other kinds."""
    if getattr(model, "kind", None) not in KERAS_KINDS:
        return ()
    return [layer.name for layer in model_layers(model.source)]


def layer_for_node(node: str, layer_names: Sequence[str], flavour: str) -> Optional[str]:
    """The outermost Keras layer whose name scope contains graph node ``node``.

    The first path component is the model's own scope. Keras 3 makes every
    layer scope unique by adding ``_<n>`` (layer ``dense`` traces as
    ``dense_1``, layer ``dense_1`` as ``dense_1_2``), so there a suffix is
    stripped first; tf-keras uses the layer name as it is.
    """
    names = set(layer_names)
    for component in node.split("/")[1:-1]:
        stripped = _SUFFIX.match(component)
        candidates = [component, stripped.group(1) if stripped else None]
        if flavour == KERAS3:
            candidates.reverse()
        for candidate in candidates:
            if candidate and candidate in names:
                return candidate
    return None
