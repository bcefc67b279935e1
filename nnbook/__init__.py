"""nnbook: the code of the book *Neural Networks, from the Perceptron Up*.

One implementation of each algorithm, written against the Python array API, that
runs on NumPy arrays (the reference, on the CPU) and on PyTorch tensors (CUDA,
MPS or CPU). PyTorch is imported only when a torch backend is asked for.

Modules: ``backend`` (namespaces, devices, dtypes), ``layers``, ``activations``, ``norm``,
``dropout``, ``losses``, ``init``, ``optim`` (SGD and the training loop), ``adaptive``
(AdaGrad, RMSProp, Adam, AdamW), ``schedules``, ``second_order`` (Newton, BFGS,
Quickprop), ``regularization``, ``hessian``, ``landscapes``, ``quadratic_rates``,
``signal``, ``perceptron``, ``gradcheck``, ``data``, and the troubleshooting tools
``diagnostics``, ``lr_finder``, ``bugs`` and ``double_descent``; figures in ``plots`` and
``plots_<topic>``, demos in ``widgets``, exercise checks in ``exercises``.
"""

from . import (
    activations,
    adaptive,
    backend,
    batch_scaling,
    bugs,
    data,
    data_parallel,
    diagnostics,
    double_descent,
    dropout,
    gradcheck,
    hessian,
    init,
    landscapes,
    layers,
    losses,
    lr_finder,
    norm,
    optim,
    perceptron,
    pipeline,
    quadratic_rates,
    regularization,
    schedules,
    second_order,
    signal,
    throughput,
)
from .activations import ELU, GELU, LeakyReLU, Maxout, PReLU, Softmax, Softplus
from .backend import Backend, to_numpy
from .layers import Identity, Linear, ReLU, Residual, Sequential, Sigmoid, Sign, Tanh, mlp
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .optim import SGD, accuracy, fit, predict

__version__ = "0.1.0"

__all__ = [
    "ELU",
    "GELU",
    "SGD",
    "BCEWithLogitsLoss",
    "Backend",
    "CrossEntropyLoss",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Maxout",
    "PReLU",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Sign",
    "Softmax",
    "Softplus",
    "Tanh",
    "__version__",
    "accuracy",
    "activations",
    "adaptive",
    "backend",
    "batch_scaling",
    "bugs",
    "data",
    "data_parallel",
    "diagnostics",
    "double_descent",
    "dropout",
    "fit",
    "gradcheck",
    "hessian",
    "init",
    "landscapes",
    "layers",
    "losses",
    "lr_finder",
    "mlp",
    "norm",
    "optim",
    "perceptron",
    "pipeline",
    "predict",
    "quadratic_rates",
    "regularization",
    "schedules",
    "second_order",
    "signal",
    "throughput",
    "to_numpy",
]
