"""Shape passes: pin dynamic input axes (with masking for sequence models) and unroll recurrent layers."""

from __future__ import annotations

import warnings
from dataclasses import replace
from numbers import Real
from typing import Any, Dict, List, Tuple

import numpy as np

from ..errors import InvalidInputError, InvalidModelError
from ..models import keras_compat
from ..models.keras_graph import (
    clone_layer,
    clone_with_weights,
    consume_mask_inside,
    consumes_mask_inside,
    last_call_input_shapes,
    layer_label,
    static_inputs_like_last_call,
)
from ..models.loading import keras_input_structure, with_input_transforms
from ..models.pinning import PAD_SIDES, InputPinning, ShapePinning, attach_pinning, pinning_of
from ..models.specs import InputSpec, InputSpecsArg, resolve_input_specs
from ..models.value_ranges import integer_value_ranges, is_mask_input
from ..verification.metrics import compare_outputs
from ..verification.pinning import SHORTER, length_samples, user_length_samples
from .base import Pass, PassContext, PassReport, PassResult, Replacement

#: Padding counts as exact when it moves no output by more than this (absolute + relative to the output's scale).
EXACT_ATOL = 1e-5
EXACT_RTOL = 1e-5


class PinInputShapes(Pass):
    """Give dynamic input axes static sizes; data is padded or truncated to fit.

    For a Keras model the pass returns a new Keras model (the input model is
    cloned, never modified): new static ``Input`` layers, and with ``mask=True``
    a ``Masking(mask_value=pad_value)`` layer on every float sequence input so
    RNNs, masked pooling and attention skip the padded steps. Integer inputs
    that feed ``Embedding(mask_zero=True)`` are masked by the model itself when
    ``pad_value`` is 0. Other models (SavedModels, tf.functions, graph-pass
    outputs) are retraced with static shapes and cannot be masked.

    The pass measures, in TensorFlow, how far padding moves the outputs
    (random data at lengths shorter than pinned, compared with the original at
    the unpadded length) and warns when padding is not exact.

    The pinning travels with the returned model, into
    :attr:`ConversionResult.pinning` and the .tflite file's metadata, and
    drives :func:`tflite_fixups.pad_or_truncate`.
    """

    name = "pin_input_shapes"

    def __init__(
        self, shapes: InputSpecsArg, *, pad: str = "post", truncate: str = "post", pad_value: float = 0,
        mask: bool = False,
    ):
        super().__init__()
        if shapes is None:
            raise InvalidInputError("pin_input_shapes needs shapes, e.g. (1, 50, 32) or {'tokens': (1, 128)}")
        for what, value in (("pad", pad), ("truncate", truncate)):
            if value not in PAD_SIDES:
                raise InvalidInputError(f"{what} must be 'post' (at the end) or 'pre' (at the start), got {value!r}")
        if isinstance(pad_value, bool) or not isinstance(pad_value, Real) or not np.isfinite(pad_value):
            raise InvalidInputError(f"pad_value must be a finite number, got {pad_value!r}")
        if not isinstance(mask, bool):
            raise InvalidInputError(f"mask must be True or False, got {mask!r}")
        self.shapes, self.pad, self.truncate, self.pad_value, self.mask = shapes, pad, truncate, pad_value, mask

    def call(self, model: Any, context: PassContext) -> PassResult:
        if pinning_of(model) is not None:
            raise InvalidInputError(
                f"the model is already pinned ({pinning_of(model)}); pin the original model instead"
            )
        loaded = context.load(model)
        native = loaded.native_input_specs
        pinned_specs = resolve_input_specs(native, self.shapes)
        ranges = integer_value_ranges(loaded)
        entries = [
            InputPinning(spec.name, spec.dtype, own.shape, spec.shape, self.pad, self.truncate, self.pad_value,
                         value_range=tuple(ranges[spec.name][:2]) if spec.name in ranges else None)
            for own, spec in zip(native, pinned_specs)
        ]
        report = PassReport(self.name, changed=False)
        if not any(entry.pinned_axes for entry in entries):
            report.notes.append(f"no dynamic axis to pin: the model's inputs are {[str(s) for s in native]}")
            return PassResult(model, report)
        entries, mask_input_notes = _mask_inputs_mark_padding(entries)
        flavour = keras_compat.keras_flavour(model)
        route = None
        if flavour is not None:
            try:
                pinned_model, entries, mask_notes = _pin_keras(model, flavour, entries, loaded.output_names, self.mask)
                route = "pinned by rebuilding the Keras model with static Inputs (a clone; the model is untouched)"
            except InvalidModelError as error:  # subclassed, or a get_config that does not rebuild the model
                reason = str(error).split(";")[0]
                pinned_model, entries, mask_notes = _pin_traced(model, loaded, flavour, entries, self.mask)
                route = (f"pinned on the traced graph: the original model's call, traced with the pinned shapes "
                         f"(no Keras clone: {reason})")
        else:
            pinned_model, entries, mask_notes = _pin_traced(model, loaded, None, entries, self.mask)
        pinning = ShapePinning(entries)
        attach_pinning(pinned_model, pinning)
        report.changed = True
        report.replacements = [
            Replacement(e.name, "input", f"pinned to {_dims(e.pinned_shape)}", _pin_details(e))
            for e in entries if e.pinned_axes
        ]
        if route:
            report.notes.append(route)
        masked = [e.name for e in entries if e.masked]
        report.notes.extend(mask_input_notes)
        report.notes.append(f"masking applies to {masked}" if masked else "masking: none (padded steps are data)")
        exact = _report_padding_effect(report, loaded, context, pinned_model, pinning, self.mask, mask_notes)
        if exact:
            report.notes.extend(mask_notes)
        return PassResult(pinned_model, report)


def pin_input_shapes(
    shapes: InputSpecsArg, *, pad: str = "post", truncate: str = "post", pad_value: float = 0, mask: bool = False
) -> PinInputShapes:
    """A pass that pins dynamic input axes to static sizes (the batch axis included).

    Args:
        shapes: one shape for a single-input model, a list in input order, or a
            dict by input name; ``None`` in a shape keeps that axis dynamic.
        pad / truncate: ``"post"`` pads/cuts at the end, ``"pre"`` at the start.
        pad_value: value of padded positions (and the mask value with ``mask=True``).
        mask: insert masking so padded steps are skipped: exact for RNNs,
            Embedding(mask_zero=True) + RNN, masked pooling and attention.
            Where masking cannot make padding exact (e.g. Conv1D), the pass
            warns with the measured error.

    Example:
        >>> pin = tff.passes.pin_input_shapes((1, 50, 32), mask=True)                   # doctest: +SKIP
        >>> result = tff.convert_and_verify(lstm_model, passes=[pin], sample_inputs=seqs)  # doctest: +SKIP
        >>> x = tff.pad_or_truncate(seq_of_37_steps, result)                             # doctest: +SKIP
    """
    return PinInputShapes(shapes, pad=pad, truncate=truncate, pad_value=pad_value, mask=mask)


def _pin_details(entry: InputPinning) -> Dict[str, Any]:
    details = {"was": _dims(entry.original_shape), "pad": entry.pad, "truncate": entry.truncate}
    if entry.pad_value != 0:
        details["pad_value"] = entry.pad_value
    details["masked"] = entry.masked
    return details


def _dims(shape) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


# --- Keras models ---------------------------------------------------------------------------------


def _mask_inputs_mark_padding(entries: List[InputPinning]) -> Tuple[List[InputPinning], List[str]]:
    """A padding-mask input (integer, named like ``*mask*``: keras-hub's ``padding_mask``) is padded with 0,
    so padded positions are marked as padding whatever ``pad_value`` the other inputs get; the integer
    sequence inputs padded alongside it count as masked."""
    mask_names = [e.name for e in entries if is_mask_input(e.name, e.dtype) and any(a != 0 for a in e.pinned_axes)]
    if not mask_names:
        return entries, []
    marked = []
    for entry in entries:
        if entry.name in mask_names:
            entry = replace(entry, pad_value=0, masked=True)
        elif any(a != 0 for a in entry.pinned_axes) and np.issubdtype(np.dtype(entry.dtype), np.integer):
            entry = replace(entry, masked=True)
        marked.append(entry)
    return marked, [f"mask input(s) {mask_names} are padded with 0, so the model treats padded positions as padding"]


def _pin_keras(model, flavour, entries: List[InputPinning], output_names: List[str], mask: bool):
    """New static Inputs (+ Masking) -> a clone of ``model`` -> outputs renamed like the original's.

    Raises:
        InvalidModelError: the model has no Input layers (subclassed) or Keras cannot clone it.
    """
    keras_module = keras_compat.keras_module(flavour)
    found = keras_input_structure(model, flavour)
    if found is None:
        raise InvalidModelError(f"the Keras model '{model.name}' has no Input layers (subclassed)")
    _, structure, _ = found
    clone = clone_with_weights(model)
    mask_zero_embedding = any(
        getattr(layer, "mask_zero", False) for layer in keras_compat.model_layers(clone)
    )
    inputs, fed, notes, final = {}, [], [], []
    for entry in entries:
        tensor = inputs[entry.name] = keras_module.Input(
            batch_shape=entry.pinned_shape, dtype=entry.dtype, name=entry.name
        )
        masked = entry.masked
        if mask and 1 in entry.pinned_axes and not masked:
            if np.issubdtype(np.dtype(entry.dtype), np.floating) and len(entry.pinned_shape) == 3:
                tensor = keras_module.layers.Masking(mask_value=entry.pad_value, name=f"{entry.name}_padding_mask")(tensor)
                masked = True
            elif np.issubdtype(np.dtype(entry.dtype), np.integer) and mask_zero_embedding and entry.pad_value == 0:
                masked = True  # Embedding(mask_zero=True) masks the padding token 0 itself
            else:
                notes.append(_cannot_mask(entry))
        fed.append(tensor)
        final.append(replace(entry, masked=masked))
    names = [e.name for e in entries]
    feed = dict(zip(names, fed)) if structure == "dict" else fed[0] if structure == "single" else fed
    if flavour == keras_compat.KERAS3 and any(e.masked for e in final):
        consume_mask_inside(clone)
    outputs = clone(feed)
    if not isinstance(outputs, dict):
        flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        renamed = [keras_module.layers.Identity(name=name)(t) for name, t in zip(output_names, flat)]
        outputs = renamed if isinstance(outputs, (list, tuple)) else renamed[0]
    model_inputs = inputs if structure == "dict" else [inputs[n] for n in names]
    if structure == "single":
        model_inputs = model_inputs[0]
    pinned = keras_module.Model(model_inputs, outputs, name=f"{model.name}_pinned")
    return pinned, final, notes


def _cannot_mask(entry: InputPinning) -> str:
    return (
        f"input '{entry.name}' ({entry.dtype}, rank {len(entry.pinned_shape)}) cannot be masked: "
        "masking needs a float (batch, time, features) input, token ids with pad_value=0 "
        "feeding Embedding(mask_zero=True), or a padding-mask input (named like '*mask*')"
    )


def _pin_traced(model, loaded, flavour, entries: List[InputPinning], mask: bool):
    """The model's own call traced with the pinned shapes: no clone, so any model can be pinned.

    With ``mask=True`` a float (batch, time, features) input of a Keras model whose
    call takes a mask goes through ``Masking(mask_value=pad_value)`` first (the mask
    reaches the model's layers as Keras' own mask would).
    """
    notes, final, transforms = [], [], {}
    keras_module = keras_compat.keras_module(flavour) if flavour is not None else None
    takes_mask = keras_module is not None and _call_takes_mask(model, flavour)
    mask_zero_embedding = flavour is not None and any(
        getattr(layer, "mask_zero", False) for layer in keras_compat.model_layers(model)
    )
    for entry in entries:
        masked = entry.masked
        if mask and 1 in entry.pinned_axes and not masked:
            if keras_module is None:
                notes.append(
                    f"mask=True needs a Keras model to insert masking; this {loaded.kind} model was pinned "
                    "without a mask"
                )
            elif np.issubdtype(np.dtype(entry.dtype), np.floating) and len(entry.pinned_shape) == 3 and takes_mask:
                transforms[entry.name] = keras_module.layers.Masking(
                    mask_value=entry.pad_value, name=f"{entry.name}_padding_mask")
                masked = True
            elif np.issubdtype(np.dtype(entry.dtype), np.integer) and mask_zero_embedding and entry.pad_value == 0:
                masked = True
            elif np.issubdtype(np.dtype(entry.dtype), np.floating) and len(entry.pinned_shape) == 3:
                notes.append(
                    f"input '{entry.name}' cannot be masked: '{getattr(model, 'name', model)}' is pinned on its traced "
                    "call, which takes no mask argument"
                )
            else:
                notes.append(_cannot_mask(entry))
        final.append(replace(entry, masked=masked))
    specs = [InputSpec(e.name, e.pinned_shape, e.dtype) for e in final]
    pinned = with_input_transforms(loaded, specs, transforms) if transforms else loaded.with_input_specs(specs)
    return pinned, final, list(dict.fromkeys(notes))


def _call_takes_mask(model, flavour) -> bool:
    if flavour == keras_compat.KERAS3:
        return bool(getattr(model, "_call_has_mask_arg", False))
    spec = getattr(model, "_call_spec", None)
    return bool(getattr(spec, "expects_mask_arg", False))


def _report_padding_effect(
    report, original, context: PassContext, pinned_model, pinning: ShapePinning, mask: bool, notes: List[str]
) -> bool:
    """Run original and pinned model in TF on shorter-than-pinned random data; warn when padding is not exact.

    Returns whether padding is exact (trivially so when no length axis was pinned).
    """
    if not pinning.changes_lengths:
        return True
    original = original.with_input_specs(pinning.reference_specs)
    worst, scale = 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras' "layer X drops the mask": reported below, measured
        pinned = context.load(pinned_model)  # traced once: convert_and_verify reuses it for this stage
        probes = user_length_samples(pinning, context.sample_inputs or [])
        source = f"{len(probes)} of your samples cut to shorter lengths"
        if not probes:
            probes = length_samples(pinning, pinning.reference_specs, categories=(SHORTER,))
            ranges = [f"{e.name} in [{e.value_range[0]}, {e.value_range[1]})" for e in pinning.inputs if e.value_range]
            source = "shorter random inputs" + (f" (integer inputs within their valid values: {', '.join(ranges)})"
                                                if ranges else "")
        for sample in probes:
            expected = original.run_at_own_shape(sample)
            got = pinning.crop_outputs(pinned.run(pinning.fit(sample)), expected)
            comparison = compare_outputs([expected], [got], atol=EXACT_ATOL, rtol=EXACT_RTOL)
            worst = max([worst] + [c.max_abs_error for c in comparison.values()])
            scale = max(scale, max((float(np.max(np.abs(v))) for v in expected.values() if np.size(v)), default=0.0))
    report.metrics["padding_max_abs_error"] = worst
    exact = worst <= EXACT_ATOL + EXACT_RTOL * scale
    report.notes.append(f"padding error measured in TF on {source}: max abs {worst:.3g}")
    if exact:
        return True
    if mask:
        ignoring = [layer_label(layer) for layer in keras_compat.model_layers(pinned_model)
                    if not getattr(layer, "supports_masking", True) and type(layer).__name__ != "InputLayer"]
        why = notes or ([f"layers that do not carry the mask: {', '.join(ignoring)}"] if ignoring else [])
        report.warnings.append(
            f"mask=True cannot make padding exact for this model: padding moves its outputs by up to {worst:.3g} "
            f"(max abs, inputs shorter than pinned). {' '.join(why)}".rstrip()
            + " Verification reports this as pinning error; pin to the length the model is used at, or feed "
            "full-length inputs only"
        )
    else:
        report.warnings.append(
            f"padding changes the outputs by up to {worst:.3g} (max abs, inputs shorter than pinned): "
            "padded steps are processed like data. Pass mask=True so sequence layers skip them"
        )
    return False


# --- unrolling ---------------------------------------------------------------------------------------


class UnrollRnns(Pass):
    """Turn every Keras recurrent layer into straight-line ops for its static length (no WHILE loop).

    For runtimes where WHILE is slow or missing (TFLite Micro). Needs static
    sequence lengths: run it after :func:`pin_input_shapes`. The weights are
    copied; the input model is not modified.

    Keras unrolls a backward RNN wrongly under a mask (it zeroes the outputs of
    the wrong steps), so in a masked model the backward half of a
    ``Bidirectional`` and any ``go_backwards`` layer stay rolled; the report says so.
    """

    name = "unroll_rnns"

    def call(self, model: Any, context: PassContext) -> PassResult:
        flavour = keras_compat.keras_flavour(model)
        if flavour is None:
            raise InvalidModelError(
                f"unroll_rnns rebuilds Keras layers, but got a {type(model).__name__}; run it on the Keras model "
                "(after pin_input_shapes, before graph passes such as replace_unsupported_ops)"
            )
        keras_module = keras_compat.keras_module(flavour)
        masked = any(
            type(layer).__name__ == "Masking" or getattr(layer, "mask_zero", False)
            for layer in keras_compat.model_layers(model)
        )
        report = PassReport(self.name, changed=False)

        def rebuild(layer):
            if isinstance(layer, keras_module.Model):
                rebuilt = clone_with_weights(layer, rebuild, input_tensors=static_inputs_like_last_call(layer))
                if consumes_mask_inside(layer):
                    consume_mask_inside(rebuilt)
                return rebuilt
            if isinstance(layer, keras_module.layers.Bidirectional):
                backward_rolled = masked
                forward = _unrolled(layer.forward_layer, report, keras_module)
                backward = (clone_layer(layer.backward_layer) if backward_rolled
                            else _unrolled(layer.backward_layer, report, keras_module))
                if backward_rolled:
                    report.notes.append(
                        f"{layer_label(layer)}: backward half left as a loop (Keras unrolls a masked backward RNN wrongly)"
                    )
                return keras_module.layers.Bidirectional(
                    forward, backward_layer=backward, merge_mode=layer.merge_mode, name=layer.name
                )
            if _is_rnn(layer, keras_module):
                if layer.go_backwards and masked:
                    report.notes.append(f"{layer_label(layer)} left as a loop (Keras unrolls a masked backward RNN wrongly)")
                    return clone_layer(layer)
                return _unrolled(layer, report, keras_module)
            return clone_layer(layer)

        try:
            unrolled = clone_with_weights(model, rebuild)
        except InvalidModelError as error:
            if "fixed number of timesteps" in str(error) or "timesteps" in str(error.__cause__ or ""):
                raise InvalidInputError(
                    "unroll_rnns needs static sequence lengths; pin them first with "
                    "tff.passes.pin_input_shapes(...)"
                ) from error
            raise
        _check_static_time(unrolled, keras_module)
        attach_pinning(unrolled, pinning_of(model))
        report.changed = bool(report.replacements)
        if not report.replacements:
            report.notes.append("no recurrent layer to unroll")
            return PassResult(model, report)
        return PassResult(unrolled, report)


def unroll_rnns() -> UnrollRnns:
    """A pass that unrolls LSTM/GRU/SimpleRNN/RNN layers (also inside Bidirectional) for a static length.

    Example:
        >>> passes = [tff.passes.pin_input_shapes((1, 50, 32), mask=True), tff.passes.unroll_rnns()]  # doctest: +SKIP
        >>> result = tff.convert_and_verify(model, passes=passes)     # doctest: +SKIP
        >>> "WHILE" in result.ops                                       # doctest: +SKIP
        False
    """
    return UnrollRnns()


def _is_rnn(layer, keras_module) -> bool:
    return isinstance(layer, keras_module.layers.RNN) and "unroll" in layer.get_config()


def _unrolled(layer, report: PassReport, keras_module):
    if not _is_rnn(layer, keras_module):
        return clone_layer(layer)
    report.replacements.append(Replacement(layer.name, type(layer).__name__, "unrolled (no WHILE loop)"))
    return clone_layer(layer, unroll=True)


def _check_static_time(model, keras_module) -> None:
    for layer in keras_compat.model_layers(model):
        if _is_rnn(layer, keras_module) and layer.get_config().get("unroll"):
            for shape in last_call_input_shapes(layer):
                if len(shape) >= 2 and shape[1] is None:
                    raise InvalidInputError(
                        f"unroll_rnns needs static sequence lengths, but {layer_label(layer)} gets shape {shape}; "
                        "pin them first with tff.passes.pin_input_shapes(...)"
                    )


__all__: Tuple[str, ...] = ("PinInputShapes", "UnrollRnns", "pin_input_shapes", "unroll_rnns")
