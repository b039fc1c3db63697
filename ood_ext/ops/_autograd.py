"""Autograd pieces shared by the op wrappers: a backward through the float64 reference maths, and
the refusal of ops that are not differentiable."""

from typing import Callable, Optional, Sequence

import torch
from torch import Tensor


def reference_backward(reference_fn: Callable, grad_out: Tensor, inputs: Sequence[Optional[Tensor]],
                       needs_input_grad: Sequence[bool], *options) -> list[Optional[Tensor]]:
    """Gradients of reference_fn(*inputs, *options) (ood_ext.ops.reference: the same maths in
    float64, every intermediate materialised) for the inputs flagged in needs_input_grad, by
    autograd through it. When grad mode is on — a backward asked for with create_graph=True —
    the gradients are themselves differentiable, so second derivatives are exact.

    Returns one entry per input (None where no gradient is needed)."""
    create_graph = torch.is_grad_enabled()
    wanted = [i for i, (t, need) in enumerate(zip(inputs, needs_input_grad)) if need and t is not None]
    grads: list[Optional[Tensor]] = [None] * len(inputs)
    if not wanted:
        return grads
    with torch.enable_grad():
        out = reference_fn(*inputs, *options)
        out = out if torch.is_tensor(out) else out[0]  # (values, indices) of reduce="max"
        found = torch.autograd.grad(out.to(grad_out.dtype), [inputs[i] for i in wanted], grad_out,
                                    create_graph=create_graph, allow_unused=True)
    for i, g in zip(wanted, found):
        grads[i] = torch.zeros_like(inputs[i]) if g is None else g
    return grads


def refuse_gradients(op: str, why: str) -> None:
    """Register an autograd formula for `op` that raises at backward time, naming the op and why:
    its outputs then never pretend to carry a gradient they do not have."""

    def backward(ctx, *grads):
        raise RuntimeError(f"{op} is not differentiable: {why}")

    torch.library.register_autograd(f"ood_ext::{op}", backward, setup_context=lambda ctx, inputs, output: None)
