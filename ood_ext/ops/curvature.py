"""Per-sample quadratic forms of Kronecker-factored curvature (EKFAC / KFAC / DIAG).

For one layer with inputs a [N, T, Din] and output gradients g [N, T, Dout] over T positions
(T = 1 for Linear, the output pixels for Conv2d), the per-sample weight gradient is
M_n = Σ_t g[n,t] a[n,t]ᵀ. Given eigenbases Q_A [Din, Din], Q_G [Dout, Dout] and weights
W [Dout, Din]:

* EKFAC: W = 1 / (S + λ) with S from :func:`curvature_eigen_correction`
* KFAC:  W = 1 / (λ_G λ_Aᵀ + λ) with the eigenvalues of the two factors
* DIAG:  no bases (identity), W = 1 / (F + λ) with F the diagonal Fisher (S without bases)

The layer bias is handled by appending a ones column to ``a`` (Din includes it).
"""

from typing import Optional

import torch
from torch import Tensor

from ._autograd import refuse_gradients
from ._checks import check_same_device_and_dtype

STRATEGIES = ("auto", "pairs", "chunked")


def curvature_quadratic_form(
    a: Tensor,
    g: Tensor,
    weight: Tensor,
    basis_a: Optional[Tensor] = None,
    basis_g: Optional[Tensor] = None,
    strategy: str = "auto",
) -> Tensor:
    """q[n] = Σ_ij (Q_Gᵀ M_n Q_A)²_ij · weight_ij, without forming M_n when T is small.

    Args:
        a: [N, T, Din] layer inputs (with a ones column for the bias).
        g: [N, T, Dout] gradients of each sample's loss wrt the layer outputs.
        weight: [Dout, Din] non-negative weights, e.g. 1 / (S + λ).
        basis_a: [Din, Din] eigenvectors Q_A (columns); None = identity.
        basis_g: [Dout, Dout] eigenvectors Q_G (columns); None = identity.
        strategy: "auto" picks by shape; "pairs" (no per-sample [Dout, Din] matrix, cost
            ∝ T²) or "chunked" (per-sample matrices in bounded chunks, cost ∝ T) force one.

    Returns:
        [N] in a's dtype, accumulated in float64.
    """
    return torch.ops.ood_ext.curvature_quadratic_form(a, g, weight, basis_a, basis_g, strategy)


def curvature_eigen_correction(
    a: Tensor,
    g: Tensor,
    basis_a: Optional[Tensor] = None,
    basis_g: Optional[Tensor] = None,
    strategy: str = "auto",
) -> Tensor:
    """S = Σ_n (Q_Gᵀ M_n Q_A)², the EKFAC eigenvalue correction (a sum: divide by N for a mean).

    Args:
        a, g, basis_a, basis_g, strategy: as in :func:`curvature_quadratic_form`.

    Returns:
        [Dout, Din] in a's dtype, accumulated in float64. Without bases it is the diagonal
        (empirical) Fisher of the layer's weight, summed over samples.
    """
    return torch.ops.ood_ext.curvature_eigen_correction(a, g, basis_a, basis_g, strategy)


@torch.library.register_fake("ood_ext::curvature_quadratic_form")
def _(a, g, weight, basis_a=None, basis_g=None, strategy="auto"):
    check_same_device_and_dtype("curvature_quadratic_form", a=a, g=g, weight=weight, basis_a=basis_a, basis_g=basis_g)
    torch._check(a.dim() == 3 and g.dim() == 3, lambda: "a and g must be [N, T, D]")
    return a.new_empty(a.shape[:1])


@torch.library.register_fake("ood_ext::curvature_eigen_correction")
def _(a, g, basis_a=None, basis_g=None, strategy="auto"):
    check_same_device_and_dtype("curvature_eigen_correction", a=a, g=g, basis_a=basis_a, basis_g=basis_g)
    torch._check(a.dim() == 3 and g.dim() == 3, lambda: "a and g must be [N, T, D]")
    return a.new_empty((g.shape[2], a.shape[2]))


for _op in ("curvature_quadratic_form", "curvature_eigen_correction"):
    refuse_gradients(_op, "it computes fitted curvature statistics and scores from detached per-sample terms; "
                          "detach its inputs (no gradient flows back to a, g, the weights or the bases)")
