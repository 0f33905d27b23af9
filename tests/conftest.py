import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quieter test logs; the library never relies on it

from hypothesis import settings  # noqa: E402

# CI runs are reproducible; local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tf_keras  # noqa: E402


import helpers  # noqa: E402

KERAS_FLAVOURS = {"keras3": keras, "tf_keras": tf_keras}


@pytest.fixture(params=sorted(KERAS_FLAVOURS))
def K(request):
    """The Keras package under test: Keras 3 (``keras``) or Keras 2 (``tf_keras``)."""
    return KERAS_FLAVOURS[request.param]


@pytest.fixture
def mlp(K):
    return helpers.mlp(K)


@pytest.fixture(scope="session")
def encoder_keras3():
    return helpers.dict_input_encoder(keras)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
