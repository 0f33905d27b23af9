"""Linear algebra: eigen/singular value decompositions, factorizations, solves and matrix helpers.

Every decomposition is unrolled over the static matrix size into batched
matrix products, gathers and elementwise arithmetic, so the emitted graph
converts to TFLite builtins only (BATCH_MATMUL, GATHER, SELECT_V2, ...).
Matrix sizes must be static (batch dimensions may be dynamic); the unrolled
decompositions are limited to n <= 32 (banded and tridiagonal solves: n <= 256 / 64). Everything is computed in float32
(float16/bfloat16 are cast there and back); float64 and complex inputs are
declined. Error bounds are float32, measured by the tests against
TensorFlow's own kernels.

Importing this package registers every linear-algebra rule and case (explicit
imports, no scanning): :mod:`.jacobi` (SelfAdjointEigV2, Svd),
:mod:`.elimination` (MatrixInverse, MatrixSolve, MatrixDeterminant,
LogMatrixDeterminant, Lu, Cholesky, MatrixTriangularSolve, Qr),
:mod:`.sqrtm` (MatrixSquareRoot, n <= 16), :mod:`.structure`
(MatrixDiagPartV3, EuclideanNorm, Cross) and :mod:`.banded`
(BandedTriangularSolve, TridiagonalSolve); :mod:`._common` holds what they
share.
"""

from . import jacobi  # noqa: F401  (registers its rules and cases)
from . import elimination  # noqa: F401  (registers its rules and cases)
from . import sqrtm  # noqa: F401  (registers its rules and cases)
from . import structure  # noqa: F401  (registers its rules and cases)
from . import banded  # noqa: F401  (registers its rules and cases)
