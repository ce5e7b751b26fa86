"""The constraint language's allow-lists and resource limits, in one place.

Everything a constraint program may name is listed here: the builtins, the NumPy functions
(reached only through ``np``), the attributes of ordinary values, and the limits that bound
memory and run time. The checker (load time) and the guards (run time) both read this module.
"""

from __future__ import annotations

import re

#: Largest number of elements one array, list, tuple or string may have inside the sandbox.
MAX_ELEMENTS = 1_000_000
#: Largest list/tuple/str a repetition, concatenation or ``range`` may produce.
MAX_SEQUENCE = 100_000
#: Largest number of multiply-adds of one ``@`` matrix product.
MAX_MATMUL_WORK = 100_000_000
#: Largest Python ``int`` (in bits) that arithmetic inside the sandbox may produce.
MAX_INT_BITS = 4096
#: Largest item size (bytes) of a dtype named by a string (blocks ``"U100000000"`` tricks).
MAX_DTYPE_ITEMSIZE = 16
#: Largest number of elements a matrix passed to ``np.linalg`` (other than ``norm``) may have.
MAX_LINALG_ELEMENTS = 10_000
#: Deadline used while the module body (constants and ``def`` statements) runs at load time.
LOAD_TIME_LIMIT_S = 1.0
#: Largest ``num_stages`` accepted.
MAX_STAGES = 50

#: Names the program itself provides to every function.
NUMPY_NAME = "np"
GRASP_HELPER = "get_grasping_cost_by_keypoint_idx"
RESERVED_NAMES = frozenset({NUMPY_NAME, GRASP_HELPER})
LIST_NAMES = ("grasp_keypoints", "release_keypoints")

#: Builtins a program may call (``range`` and ``pow`` are replaced by bounded versions and
#: ``print`` by a no-op).
ALLOWED_BUILTINS = frozenset(
    {
        "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "float", "int",
        "isinstance", "len", "list", "max", "min", "pow", "print", "range", "reversed",
        "round", "sorted", "sum", "tuple", "zip",
    }
)

#: Attributes of ``np`` (values are ``True`` for plain functions/constants, or a frozenset of
#: the allowed attributes of a submodule).
NUMPY_FUNCTIONS = frozenset(
    {
        # constants and scalar types
        "pi", "e", "inf", "nan", "newaxis", "float64", "float32", "int64", "int32", "bool_",
        # creation (shape arguments are checked)
        "array", "asarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
        "full_like", "eye", "identity", "arange", "linspace", "copy", "tile", "repeat", "diag",
        "stack", "vstack", "hstack", "column_stack", "concatenate", "meshgrid",
        # element-wise maths
        "abs", "absolute", "sqrt", "square", "exp", "log", "log2", "log10", "sin", "cos", "tan",
        "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "degrees", "radians",
        "deg2rad", "rad2deg", "sign", "floor", "ceil", "round", "around", "clip", "maximum",
        "minimum", "fmax", "fmin", "power", "hypot", "mod", "fmod", "add", "subtract",
        "multiply", "divide", "negative", "reciprocal", "isnan", "isfinite", "isinf", "where",
        "logical_and", "logical_or", "logical_not", "logical_xor", "greater", "greater_equal",
        "less", "less_equal", "equal", "not_equal", "allclose", "isclose", "array_equal",
        # reductions
        "sum", "mean", "median", "min", "max", "amin", "amax", "argmin", "argmax", "prod",
        "std", "var", "cumsum", "any", "all", "average", "ptp", "count_nonzero",
        # linear algebra and shape
        "dot", "vdot", "inner", "outer", "cross", "matmul", "einsum", "tensordot", "trace",
        "transpose", "reshape", "squeeze", "expand_dims", "ravel", "swapaxes", "moveaxis",
        "flip", "roll", "sort", "argsort", "interp", "atleast_1d", "atleast_2d", "shape",
        "ndim", "size",
        # submodule
        "linalg",
    }
)
NUMPY_SUBMODULES: dict[str, frozenset[str]] = {
    "linalg": frozenset({"norm", "det", "inv", "pinv", "solve", "svd", "eig", "eigh", "qr"}),
}

#: NumPy functions whose output size follows from integer/shape arguments, not array inputs.
CREATION_FUNCTIONS = frozenset(
    {"zeros", "ones", "empty", "full", "eye", "identity", "arange", "linspace", "tile",
     "repeat", "diag", "zeros_like", "ones_like", "full_like"}
)

#: Attributes allowed on ordinary values (arrays, lists, dicts, linalg results).
ALLOWED_ATTRIBUTES = frozenset(
    {
        # array data
        "shape", "ndim", "size", "T", "real", "imag",
        # array methods
        "reshape", "flatten", "ravel", "copy", "dot", "sum", "mean", "max", "min", "argmax",
        "argmin", "std", "var", "clip", "transpose", "astype", "tolist", "item", "squeeze",
        "all", "any", "round", "prod", "cumsum", "conj", "conjugate",
        # list / dict methods
        "append", "pop", "index", "count", "keys", "values", "items", "get", "sort", "reverse",
        # fields of np.linalg results
        "U", "S", "Vh", "Q", "R", "eigenvalues", "eigenvectors",
    }
)

#: Constraint-function names: ``stage{i}_subgoal_constraint{j}`` / ``stage{i}_path_constraint{j}``.
CONSTRAINT_NAME = re.compile(r"^stage(\d+)_(subgoal|path)_constraint(\d+)$")
#: Names that look like constraint functions but do not match the pattern (likely typos).
STAGE_PREFIX = re.compile(r"^stage\d+_")


def allowed_numpy_path(parts: tuple[str, ...]) -> bool:
    """True when ``np.<parts[0]>.<parts[1]>...`` is on the NumPy allow-list."""
    if not parts or parts[0] not in NUMPY_FUNCTIONS:
        return False
    if len(parts) == 1:
        return True
    sub = NUMPY_SUBMODULES.get(parts[0])
    return sub is not None and len(parts) == 2 and parts[1] in sub
