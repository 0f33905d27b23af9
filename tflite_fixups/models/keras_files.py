"""Load a checked ``.keras``/``.h5`` file with the Keras that wrote it, and say clearly why one does not load.

:func:`tflite_fixups.models.files.inspect_model_file` has already checked the
file and found its code (refused in safe mode before this runs). Here Keras
loads it: custom classes come from ``custom_objects`` or Keras' registry, and
in unsafe mode a Keras 3 ``Lambda``'s code gets the globals users expect.
"""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .._quiet import import_tensorflow
from ..errors import InvalidModelError, ModelFileError, UnsafeModelError, describe_error
from . import keras_compat
from .files import ModelFile

tf = import_tensorflow()


#: Names a Lambda layer's code sees in unsafe mode besides ``custom_objects`` (Keras 3 gives it none of its own)
LAMBDA_GLOBALS = ("tf", "keras", "ops", "np")
#: How Keras 3 and tf-keras say a saved class or function is not registered ("Could not locate class 'Scale'")
_UNKNOWN_OBJECT = re.compile(r"Could not locate (?:class|function) '[^']+'|Unknown [a-z ]+: '?[\w.>]+'?")


def load_keras_file(found: ModelFile, safe_mode: bool, custom_objects: Optional[Mapping[str, Any]]) -> Tuple[Any, str]:
    """The Keras model in ``found`` and its flavour, loaded by the Keras that wrote it.

    Raises:
        InvalidModelError: a custom class is unknown (named), or Keras cannot rebuild the model.
        ModelFileError: Keras finds the file damaged (weights cut short).
        UnsafeModelError: Keras' own safe mode refused code the file check missed.
    """
    path = found.path
    flavour = _flavour_of_version(found.keras_version) or keras_compat.default_flavour()
    keras_module = keras_compat.keras_module(flavour)
    objects = dict(custom_objects or {})
    try:
        with _lambda_globals(flavour, objects, enabled=not safe_mode):
            model = keras_module.models.load_model(path, compile=False, safe_mode=safe_mode, custom_objects=objects)
    except Exception as error:
        raise _keras_load_error(path, flavour, error, _unknown_classes(found.config, keras_module, objects)) from error
    if keras_compat.keras_flavour(model) is None:
        raise InvalidModelError(f"'{path}' loaded as a {type(model).__name__}, not a Keras model")
    return model, keras_compat.keras_flavour(model)


def _keras_load_error(path: str, flavour: str, error: Exception, unknown_classes: Sequence[str] = ()) -> Exception:
    text = str(error)
    name = "Keras 3" if flavour == keras_compat.KERAS3 else "tf-keras"
    if "safe_mode" in text or "arbitrary code" in text:
        return UnsafeModelError(
            f"'{path}' contains Python code (e.g. a Lambda layer) that Keras safe mode refuses to load. "
            "Pass safe_mode=False only if you trust the file", path=path,
        )
    found = _UNKNOWN_OBJECT.search(text)
    unknown = found.group(0) if found else (
        "custom class(es) " + ", ".join(f"'{c}'" for c in unknown_classes) if unknown_classes else None)
    if unknown:
        return InvalidModelError(
            f"'{path}' uses a custom class or function that {name} does not know ({unknown}). Import the "
            "module that registers it (with @keras.saving.register_keras_serializable()) before loading, or pass "
            "it in custom_objects={'Name': Class}"
        )
    if isinstance(error, (OSError, EOFError, KeyError)) or "truncated" in text or "Unable to" in text:
        return ModelFileError(f"'{path}' is damaged or incomplete: {name} could not read it "
                              f"({describe_error(error)})", path=path)
    return InvalidModelError(
        f"{name} could not rebuild the model saved in '{path}' ({describe_error(error)}). "
        "If a Lambda or custom layer's code refers to names of your own, pass them in custom_objects"
    )


def _unknown_classes(config: Any, keras_module: Any, custom_objects: Mapping[str, Any]) -> List[str]:
    """Custom classes a saved config names that neither ``custom_objects`` nor Keras's registry knows."""
    unknown: List[str] = []
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
            continue
        if not isinstance(value, dict):
            continue
        stack.extend(value.values())
        class_name, registered = value.get("class_name"), value.get("registered_name")
        module = value.get("module")
        if not isinstance(class_name, str) or not isinstance(value.get("config"), dict):
            continue
        custom = (isinstance(registered, str) and ">" in registered) or ">" in class_name or (
            isinstance(module, str) and not module.startswith(("keras", "tf_keras", "tensorflow")))
        key = registered if isinstance(registered, str) and registered else class_name
        known = (key in custom_objects or class_name in custom_objects
                 or keras_module.saving.get_registered_object(key) is not None)
        if custom and not known and key not in unknown:
            unknown.append(key)
    return unknown


@contextlib.contextmanager
def _lambda_globals(flavour: str, custom_objects: Dict[str, Any], *, enabled: bool):
    """Let Keras 3 Lambda code see ``tf``, ``keras``, ``ops``, ``np`` and ``custom_objects`` while it loads.

    Keras 3 rebuilds a Lambda's function with the globals of its own utility
    module, so code saved from a script that used ``tf`` fails with a NameError
    even in unsafe mode (tf-keras adds its module's names and custom_objects).
    """
    if not enabled or flavour != keras_compat.KERAS3:
        yield
        return
    import keras
    from keras.src.utils import python_utils  # where Keras 3 rebuilds Lambda functions

    names = {"tf": tf, "keras": keras, "ops": keras.ops, "np": np}
    names.update(custom_objects)
    original = python_utils.func_load

    def func_load(code, defaults=None, closure=None, globs=None):
        if globs is None:
            globs = dict(vars(python_utils))
            globs.update(names)
        return original(code, defaults=defaults, closure=closure, globs=globs)

    with _PATCH_LOCK:
        python_utils.func_load = func_load
        try:
            yield
        finally:
            python_utils.func_load = original


_PATCH_LOCK = threading.Lock()


def _flavour_of_version(version: Optional[str]) -> Optional[str]:
    if not version:
        return None
    return keras_compat.KERAS3 if str(version).startswith("3.") else keras_compat.TF_KERAS
