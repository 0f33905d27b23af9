"""Rewrite rules, one file per family, registered by TF op type name.

Importing this package registers every built-in rule (explicit imports, no
scanning). Add your own with :func:`rewrite_rule`.
"""

from .registry import (
    DEFAULT_REGISTRY, ComplexParts, NodeView, Rule, RuleDeclined, RuleRegistry, catalogue_markdown, iter_rules,
    rewrite_rule,
)

from . import special_functions  # noqa: E402,F401  (registers its rules)
from . import gamma_bessel  # noqa: E402,F401  (registers its rules)
from . import special_integrals  # noqa: E402,F401  (registers its rules)
from . import bessel_jy  # noqa: E402,F401  (registers its rules)
from . import cumulative  # noqa: E402,F401  (registers its rules)
from . import counting  # noqa: E402,F401  (registers its rules)
from . import segments  # noqa: E402,F401  (registers its rules)
from . import bitwise  # noqa: E402,F401  (registers its rules)
from . import einsum  # noqa: E402,F401  (registers its rules)
from . import pooling  # noqa: E402,F401  (registers its rules)
from . import signal  # noqa: E402,F401  (registers its rules)
from . import linalg  # noqa: E402,F401  (registers its rules)
from . import image  # noqa: E402,F401  (registers its rules)

__all__ = [
    "DEFAULT_REGISTRY", "ComplexParts", "NodeView", "Rule", "RuleDeclined", "RuleRegistry", "catalogue_markdown",
    "iter_rules", "rewrite_rule",
]
