"""Checks for the book's code exercises: ``nnbook.exercises.check_<name>(your_function)``.

Each check runs your function on several inputs, edge cases included, against
nnbook's own reference and tells you precisely what is wrong: which input, the
expected and the received shape or value, the first wrong entry, and a hint. It
never shows the solution. The checks of each chapter live in their own module;
:mod:`nnbook.exercises.feedback` holds the machinery they share.
"""

from .activations import check_leaky_relu_backward, check_prelu_slope_grad, check_softmax_backward
from .backprop import (
    check_linear_backward,
    check_mlp_backward,
    check_numerical_gradient,
    check_rnn_backward,
    check_softplus,
)
from .convexity import check_classify_critical_point, check_hessian_vector_product, check_power_iteration
from .feedback import Case, CheckResult, compare, run_check
from .initialization import check_forward_stds, check_he_normal, check_orthogonal
from .normalization import check_batchnorm_backward, check_batchnorm_forward
from .perceptron import check_logistic_gradient, check_perceptron_epoch, check_perceptron_update
from .regularization import check_dropout_forward, check_early_stopping
from .second_order import check_damped_newton_step, check_quickprop_step
from .sgd import check_adam_step, check_momentum_step
from .training_fast import check_unscale, check_weighted_gradient_mean
from .troubleshooting import (
    check_chance_loss,
    check_dead_fraction,
    check_overlap_fraction,
    check_train_step,
)

__all__ = ["Case", "CheckResult", "compare", "run_check"]
__all__ += ["check_logistic_gradient", "check_perceptron_epoch", "check_perceptron_update"]
__all__ += ["check_forward_stds", "check_he_normal", "check_orthogonal"]
__all__ += ["check_batchnorm_backward", "check_batchnorm_forward"]
__all__ += ["check_classify_critical_point", "check_hessian_vector_product", "check_power_iteration"]
__all__ += ["check_linear_backward", "check_mlp_backward", "check_numerical_gradient", "check_rnn_backward",
            "check_softplus"]
__all__ += ["check_leaky_relu_backward", "check_prelu_slope_grad", "check_softmax_backward"]
__all__ += ["check_adam_step", "check_momentum_step"]
__all__ += ["check_damped_newton_step", "check_quickprop_step"]
__all__ += ["check_dropout_forward", "check_early_stopping"]
__all__ += ["check_chance_loss", "check_dead_fraction", "check_overlap_fraction", "check_train_step"]
__all__ += ["check_unscale", "check_weighted_gradient_mean"]
