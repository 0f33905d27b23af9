"""Fake quantization for quantization-aware fine-tuning: the Keras layers, and rebuilding a model with them.

The layers use TensorFlow's fake-quant ops, which the TFLite converter reads as
quantization parameters: converting a fine-tuned model with
``optimizations=[tf.lite.Optimize.DEFAULT]`` gives an int8 model whose
activation tensors carry the learned ranges (``scale = (max - min) / 255``).
What the converter (TF 2.21) needs, measured while building this module:

- weights: a fake quant directly on the constant kernel of CONV_2D or
  DEPTHWISE_CONV_2D (per output channel, symmetric, narrow range [-127, 127]).
  A per-channel fake quant that reaches the kernel through a transpose or an
  ExpandDims fails ("mismatched quantized axes"): FULLY_CONNECTED (whose
  kernel the converter transposes) is therefore quantized per tensor, Conv1D
  runs as a Conv2D on a 4-D kernel, and a depthwise kernel is quantized as
  (kh, kw, 1, in * multiplier) so every output channel gets its own scale;
- activations: a fake quant after each op whose output needs a range. An op
  fused into its producer (CONV_2D/ADD + RELU) takes the range after the ReLU;
  CONCATENATION needs one range for its inputs and output, so the inputs are
  left to the fake quant after it; LOGISTIC, TANH and SOFTMAX have fixed int8
  output ranges, mirrored by fixed fake quants;
- constants of element-wise ops (Rescaling, inference BatchNormalization) stay
  float unless fake-quantized: both run here as one 1x1 DEPTHWISE_CONV_2D with
  the per-channel factors as (exactly representable) weights and the offsets as bias;
- a tensor leaving a float layer (LSTM...) needs its own fake quant, or the
  next op stays float too;
- only 8 bits: the converter rejects 4-bit fake quant ("'tfl.fully_connected'
  op operand #0 must be tensor of ...").

Activation ranges are the exponential moving average of each training batch's
min/max (0 always included), starting from the first training batch or from
calibration data; at inference the stored range is used.

The package's modules, each on one concern:

- :mod:`.ops`: the fake-quant arithmetic on tensors and the learned activation range;
- :mod:`.layers`: the quantizer settings and the Keras fake-quant layer classes;
- :mod:`.plan`: what the rebuild does with each layer call;
- :mod:`.rebuild`: rebuilding a model with the planned layers, BatchNormalization folding;
- :mod:`.calibration`: calibration and inspection of the learned ranges.
"""

from .calibration import activation_ranges
from .layers import FIXED, NONE, fake_quant_layers
from .ops import INITIAL_RANGE, NUM_BITS
from .plan import FLOAT, FOLDED, PASS, CallPlan, FakeQuantOptions
from .rebuild import FakeQuantRebuild, rebuild_with_fake_quant

__all__ = [
    "FIXED", "FLOAT", "FOLDED", "INITIAL_RANGE", "NONE", "NUM_BITS", "PASS", "CallPlan", "FakeQuantOptions",
    "FakeQuantRebuild", "activation_ranges", "fake_quant_layers", "rebuild_with_fake_quant",
]
