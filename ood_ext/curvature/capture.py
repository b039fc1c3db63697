"""Per-sample layer inputs and output gradients from one batched forward and backward.

For a loss that is a sum of per-sample losses L = Σ_n ℓ_n of a model that does not mix samples
(eval mode), ∂L/∂out_n = ∂ℓ_n/∂out_n, so one backward of the summed loss yields every sample's
output gradients. With the layer inputs, each layer's per-sample weight gradient is
∇W_n = Σ_t g[n,t] a[n,t]ᵀ — the curvature ops consume (a, g) without ever forming it.

Supported layers: nn.Linear (T = 1, or the extra dimensions of a higher-rank input) and
nn.Conv2d with groups = 1 and zero padding (a = unfold columns, T = output pixels). A bias is a
ones column appended to a. Any other module can take part by defining
``curvature_terms(args, outputs, grads) -> (a, g)``: it receives its forward's positional
arguments, its outputs (a tuple) and the per-sample gradients wrt those outputs, and returns
Kronecker terms whose Σ_t g_t a_tᵀ is its per-sample parameter gradient (the Glow layers do).
"""

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class LayerTerms:
    """One layer's per-sample inputs a [B, T, Din] and output gradients g [B, T, Dout]."""

    a: Tensor
    g: Tensor


def check_supported(module: nn.Module, name: str = "") -> None:
    """Raise ValueError for a layer whose per-sample gradients this module cannot capture."""
    label = name or type(module).__name__
    if hasattr(module, "curvature_terms"):
        return
    if isinstance(module, nn.Conv2d):
        if module.groups != 1:
            raise ValueError(f"{label}: Conv2d with groups={module.groups} is not supported (groups must be 1)")
        if module.padding_mode != "zeros":
            raise ValueError(f"{label}: Conv2d padding_mode={module.padding_mode!r} is not supported (use 'zeros')")
        if isinstance(module.padding, str):
            raise ValueError(f"{label}: Conv2d padding={module.padding!r} is not supported (give integers)")
    elif not isinstance(module, nn.Linear):
        raise ValueError(f"{label}: {type(module).__name__} has no per-sample capture (Linear, Conv2d, or a "
                         "module defining curvature_terms)")


def _with_bias_column(a: Tensor, module: nn.Module) -> Tensor:
    if module.bias is None:
        return a
    return torch.cat([a, a.new_ones(*a.shape[:-1], 1)], dim=-1)


def layer_inputs(module: nn.Module, x: Tensor) -> Tensor:
    """a [B, T, Din] of a layer from its input x."""
    if isinstance(module, nn.Conv2d):
        cols = F.unfold(x, module.kernel_size, module.dilation, module.padding, module.stride)  # [B, Din, T]
        return _with_bias_column(cols.transpose(1, 2), module)
    return _with_bias_column(x.reshape(x.shape[0], -1, x.shape[-1]), module)


def output_grads(module: nn.Module, grad: Tensor) -> Tensor:
    """g [B, T, Dout] of a layer from the gradient wrt its output."""
    if isinstance(module, nn.Conv2d):
        return grad.flatten(2).transpose(1, 2)
    return grad.reshape(grad.shape[0], -1, grad.shape[-1])


def per_sample_terms(model: nn.Module, loss_fn: Callable[[nn.Module, Tensor], Tensor], x: Tensor,
                     layers: Sequence[nn.Module]) -> tuple[Tensor, list[LayerTerms]]:
    """Run loss_fn(model, x) -> [B] once with hooks on `layers`; return the per-sample losses and
    each layer's (a, g). Parameters' .grad are untouched (gradients go to the layer outputs only);
    frozen layers work too."""
    args_of, outputs_of = {}, {}

    def hook(module, args, output):
        if module in args_of:
            raise ValueError(f"{type(module).__name__} ran more than once in loss_fn's forward pass; layers "
                             "applied several times (weight sharing) are not supported")
        args_of[module] = tuple(a.detach() if torch.is_tensor(a) else a for a in args)
        single = torch.is_tensor(output)
        outs = tuple(o if o.requires_grad else o.detach().requires_grad_(True)  # frozen: make it a leaf
                     for o in ((output,) if single else output))
        outputs_of[module] = outs
        return outs[0] if single else outs

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.enable_grad():
            loss = loss_fn(model, x)
            if loss.dim() != 1 or loss.shape[0] != x.shape[0]:
                raise ValueError(f"loss_fn must return per-sample losses [B], got shape {tuple(loss.shape)}")
            missing = [type(layer).__name__ for layer in layers if layer not in outputs_of]
            if missing:
                raise ValueError(f"layers {missing} did not run in loss_fn's forward pass")
            flat = [o for layer in layers for o in outputs_of[layer]]
            grads = torch.autograd.grad(loss.sum(), flat, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    grads = [torch.zeros_like(o) if g is None else g.detach() for o, g in zip(flat, grads)]
    terms, start = [], 0
    for layer in layers:
        outs = outputs_of[layer]
        layer_grads = tuple(grads[start : start + len(outs)])
        start += len(outs)
        if hasattr(layer, "curvature_terms"):
            a, g = layer.curvature_terms(args_of[layer], tuple(o.detach() for o in outs), layer_grads)
            terms.append(LayerTerms(a, g))
        else:
            terms.append(LayerTerms(layer_inputs(layer, args_of[layer][0]), output_grads(layer, layer_grads[0])))
    return loss.detach(), terms


def per_sample_gradients(terms: LayerTerms) -> Tensor:
    """The explicit per-sample weight gradients [B, Dout, Din] (for tests and small layers)."""
    return torch.einsum("nto,nti->noi", terms.g, terms.a)
