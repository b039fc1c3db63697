"""ROSE (Robust Out-of-distribution detection ScorE): a Fisher-preconditioned gradient score.

For each chosen layer l and test sample x, with ∇W_l(x) the gradient of the sample's loss,
    s_l(x) = ∇W_lᵀ (F_l + λ)⁻¹ ∇W_l   under an EKFAC / KFAC / DIAG approximation of the layer's
Fisher F_l fitted on in-distribution data; the layer scores are standardised with their mean
and standard deviation on held-out ID data, z_l = (s_l − m_l) / sd_l, and aggregated by
max_l z_l (default, the reference code) or Σ_l ReLU(z_l) (the paper's shallow ReLU form).
Higher = more OOD: an OOD sample asks for a larger move of the parameters.

One batched forward and one backward per batch (hooks capture layer inputs and output
gradients), and the fused curvature op — never a per-sample gradient tensor.
"""

from typing import Callable, Iterable, Sequence, Union

import torch
from torch import Tensor, nn

from .. import distributed
from ..curvature import KINDS, LayerCurvature, check_supported, fit_curvature, per_sample_terms
from ..data.batches import collect_inputs
from ..ops import curvature_quadratic_form
from .base import Detector, expect

AGGREGATES = ("max", "relu_sum")


def resolve_layers(model: nn.Module, layers: Union[str, Sequence]) -> list[nn.Module]:
    """'encoder' (model.encoder_layers()), 'all' (every Linear / Conv2d), or modules / names."""
    if layers == "encoder":
        if not hasattr(model, "encoder_layers"):
            raise ValueError(f"{type(model).__name__} has no encoder_layers(); pass layers='all' or a list")
        chosen = list(model.encoder_layers())
    elif layers == "all":
        chosen = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    else:
        named = dict(model.named_modules())
        chosen = []
        for layer in layers:
            if isinstance(layer, str):
                if layer not in named:
                    raise ValueError(f"no module named {layer!r} in {type(model).__name__}")
                layer = named[layer]
            chosen.append(layer)
    if not chosen:
        raise ValueError("no layers to score")
    for layer in chosen:
        check_supported(layer)
    return chosen


class ROSE(Detector):
    """ROSE on any model with a per-sample loss.

    Args:
        model: the trained generative model.
        loss_fn: (model, x [B, ...]) -> per-sample loss [B] (e.g. a VAE's −ELBO with the decoder
            at the posterior mean; a flow's NLL).
        layers: 'encoder', 'all', or a list of Linear / Conv2d modules (or their names).
        fisher: 'ekfac' (default), 'kfac' or 'diag'.
        damping: λ added to the curvature eigenvalues (docs/methods.md, "ROSE").
        aggregate: 'max' (default) or 'relu_sum'.
        fisher_samples: ID samples the curvature is fitted on; the next `norm_samples` of the
            fit loader give the per-layer mean and standard deviation.
    """

    fitted_attributes = ("curvatures", "means", "stds")
    needs_input_grad = True

    def __init__(self, model: nn.Module, loss_fn: Callable[[nn.Module, Tensor], Tensor],
                 layers: Union[str, Sequence] = "encoder", fisher: str = "ekfac", damping: float = 1e-8,
                 aggregate: str = "max", fisher_samples: int = 1000, norm_samples: int = 1000,
                 progress: bool = True):
        super().__init__(model, progress)
        if fisher not in KINDS:
            raise ValueError(f"fisher must be one of {KINDS}, got {fisher!r}")
        if aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        self.loss_fn, self.layers = loss_fn, resolve_layers(model, layers)
        self.fisher, self.damping, self.aggregate = fisher, float(damping), aggregate
        self.fisher_samples, self.norm_samples = int(fisher_samples), int(norm_samples)
        self._prepared: dict = {}  # (dtype, device) → curvatures ready for scoring

    def config(self) -> dict:
        return {"fisher": self.fisher, "damping": self.damping, "aggregate": self.aggregate,
                "layers": len(self.layers), "fisher_samples": self.fisher_samples,
                "norm_samples": self.norm_samples}

    def _fit(self, loader: Iterable) -> None:
        # Distributed: every rank's loader yields its strided shard of the fit data, so the first
        # F global samples are each rank's first shard_size(F) (ood_ext.distributed).
        local = collect_inputs(loader, distributed.shard_size(self.fisher_samples + self.norm_samples))
        local, total = local.to(self.device), distributed.total_count(len(local))
        if total < 3:
            raise ValueError("ROSE.fit needs at least 3 in-distribution samples")
        # Too few samples for both parts: split them in half.
        n_fisher = self.fisher_samples if total >= self.fisher_samples + 2 else total // 2
        if total - n_fisher < 2:
            raise ValueError(f"ROSE.fit needs at least 2 held-out samples after the {n_fisher} Fisher samples")
        split = distributed.shard_size(n_fisher)
        fisher_data, norm_data = local[:split], local[split:]
        batches = lambda d: [d[i : i + 128] for i in range(0, len(d), 128)]  # noqa: E731
        fitted = fit_curvature(self.model, self.loss_fn, batches(fisher_data), self.layers, self.fisher,
                               len(fisher_data), self.device)
        self.curvatures = [c.state() for c in fitted]
        self._prepared = {}
        scores = torch.cat([self._layer_scores(x).double() for x in batches(norm_data)] +
                           [torch.empty(0, len(fitted), dtype=torch.float64, device=self.device)])
        count = total - n_fisher
        (sums,) = distributed.all_reduce_sum(scores.sum(0))
        self.means = sums / count
        (squares,) = distributed.all_reduce_sum((scores - self.means).pow(2).sum(0))
        self.stds = (squares / (count - 1)).sqrt().clamp(min=1e-12)

    def _scoring_curvatures(self, dtype: torch.dtype, device: torch.device) -> list[LayerCurvature]:
        """The fitted curvatures with the damped weights 1/(Λ + λ) as eigenvalues, cast once per
        dtype / device instead of on every batch (bases can be thousands of columns wide)."""
        key = (dtype, device)
        if key not in self._prepared:
            cast = lambda t: None if t is None else t.to(device, dtype)  # noqa: E731
            self._prepared[key] = [
                LayerCurvature(c["kind"], cast(LayerCurvature(**c).weights(self.damping)), cast(c["basis_a"]),
                               cast(c["basis_g"]))
                for c in self.curvatures
            ]
        return self._prepared[key]

    def _layer_scores(self, x: Tensor) -> Tensor:
        """Unnormalised per-layer scores s_l: [B, L]."""
        _, terms = per_sample_terms(self.model, self.loss_fn, x, self.layers)
        prepared = self._scoring_curvatures(x.dtype, x.device)
        columns = [curvature_quadratic_form(t.a, t.g, c.eigenvalues, c.basis_a, c.basis_g)
                   for c, t in zip(prepared, terms)]
        return torch.stack(columns, 1)

    def _check_state(self, state: dict) -> None:
        curvatures = state["curvatures"]
        if not isinstance(curvatures, list) or len(curvatures) != len(self.layers):
            count = len(curvatures) if isinstance(curvatures, list) else type(curvatures).__name__
            raise ValueError(f"ROSE state: {count} curvatures for {len(self.layers)} layers")
        for i, (layer, c) in enumerate(zip(self.layers, curvatures)):
            where = f"curvatures[{i}] ({type(layer).__name__})"
            if not isinstance(c, dict) or set(c) != {"kind", "eigenvalues", "basis_a", "basis_g"}:
                raise ValueError(f"ROSE state: {where} is not a fitted layer curvature")
            if c["kind"] != self.fisher:
                raise ValueError(f"ROSE state: {where} is {c['kind']!r}, this detector fits {self.fisher!r}")
            shape = (None, None)
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                shape = (layer.weight.shape[0], layer.weight[0].numel() + (layer.bias is not None))
            eigenvalues = expect("ROSE", f"{where} eigenvalues", c["eigenvalues"], shape)
            if bool((eigenvalues < 0).any()):
                raise ValueError(f"ROSE state: {where} has negative eigenvalues")
            if self.fisher == "diag":
                if c["basis_a"] is not None or c["basis_g"] is not None:
                    raise ValueError(f"ROSE state: {where} is diagonal but carries bases")
            else:
                d_out, d_in = eigenvalues.shape
                expect("ROSE", f"{where} basis_a", c["basis_a"], (d_in, d_in))
                expect("ROSE", f"{where} basis_g", c["basis_g"], (d_out, d_out))
        expect("ROSE", "means", state["means"], (len(self.layers),))
        expect("ROSE", "stds", state["stds"], (len(self.layers),))

    def load_state_dict(self, saved: dict) -> "ROSE":
        self._prepared = {}
        return super().load_state_dict(saved)

    def to(self, *args, **kwargs) -> "ROSE":
        self._prepared = {}
        return super().to(*args, **kwargs)

    def layer_scores(self, x: Tensor) -> Tensor:
        """Standardised per-layer scores z_l: [B, L] (for analysis; score() aggregates them)."""
        return ((self._layer_scores(x).double() - self.means) / self.stds).to(x.dtype)

    def _score(self, x: Tensor) -> Tensor:
        z = self.layer_scores(x)
        return z.max(1).values if self.aggregate == "max" else torch.relu(z).sum(1)
