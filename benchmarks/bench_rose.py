"""ROSE scoring throughput on the paper's Fashion-MNIST VAE (32×32 inputs, width 32, latent 100,
EKFAC on the six encoder convolutions), against

  (a) a bare batched forward + backward of the same model (the ceiling of any score that needs
      one backward per sample),
  (b) a per-sample backward loop computing the same score,
  (c) per-sample gradients materialised with torch.func (vmap of grad) and rotated into the
      eigenbasis, the way EKFAC libraries score,

plus Likelihood Regret's throughput. Writes benchmarks/results/rose.json.

    python benchmarks/bench_rose.py [--batch 64] [--rounds 5]
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.func import functional_call, grad, vmap

sys.path.insert(0, str(Path(__file__).parent))
from ood_ext.files import write_text  # noqa: E402
from ood_ext.detectors import ROSE  # noqa: E402
from ood_ext.detectors.generative import LikelihoodRegret  # noqa: E402
from ood_ext.methods.rose import vae_loss  # noqa: E402
from ood_ext.models import ConvVAE  # noqa: E402
from harness import machine, throughput as images_per_second  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rose.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = ConvVAE(1, 32, 100).eval()
    fit = torch.rand(1200, 1, 32, 32)
    x = torch.rand(args.batch, 1, 32, 32)
    rose = ROSE(model, vae_loss, "encoder", "ekfac", fisher_samples=1000, norm_samples=200, progress=False)
    rose.fit([fit[i : i + 100] for i in range(0, 1200, 100)])
    curv = rose.curvatures
    params = dict(model.named_parameters())
    names = {id(p): n for n, p in params.items()}
    layer_names = [names[id(layer.weight)] for layer in rose.layers]

    def normalise(raw):
        return ((raw.double() - rose.means) / rose.stds).max(1).values

    def forward_backward():
        loss = vae_loss(model, x).sum()
        torch.autograd.grad(loss, list(params.values()))

    def per_sample_loop():
        rows = []
        for n in range(len(x)):
            grads = torch.autograd.grad(vae_loss(model, x[n : n + 1]).sum(), [layer.weight for layer in rose.layers])
            row = []
            for g, c in zip(grads, curv):
                rotated = c["basis_g"].T.float() @ g.flatten(1) @ c["basis_a"].float()
                row.append((rotated**2 / (c["eigenvalues"].float() + rose.damping)).sum())
            rows.append(torch.stack(row))
        return normalise(torch.stack(rows))

    wrapped = _Loss(model)

    def materialised():
        def loss_one(p, xi):
            return functional_call(wrapped, p, (xi[None],))[0]

        wanted = {f"model.{n}": params[n].detach() for n in layer_names}
        per_sample = vmap(grad(loss_one), in_dims=(None, 0))(wanted, x)
        columns = []
        for name, c in zip(layer_names, curv):
            m = per_sample[f"model.{name}"].flatten(2)  # [B, Dout, Din]
            rotated = c["basis_g"].T.float() @ m @ c["basis_a"].float()
            columns.append((rotated**2 / (c["eigenvalues"].float() + rose.damping)).sum((1, 2)))
        return normalise(torch.stack(columns, 1))

    results = {
        "machine": machine(),
        "batch": args.batch,
        "rose_images_per_s": images_per_second(lambda: rose.score(x), args.batch, args.rounds),
        "forward_backward_images_per_s": images_per_second(forward_backward, args.batch, args.rounds),
        "per_sample_loop_images_per_s": images_per_second(per_sample_loop, args.batch, max(2, args.rounds // 2)),
        "materialised_images_per_s": images_per_second(materialised, args.batch, max(2, args.rounds // 2)),
    }
    agree = (rose.score(x).double() - per_sample_loop()).abs().max() / rose.score(x).double().abs().max()
    results["max_relative_difference_to_loop"] = float(agree)
    regret = LikelihoodRegret(model, steps=100, samples=20, progress=False).fit([])
    small = x[:8]
    results["likelihood_regret_images_per_s"] = images_per_second(lambda: regret.score(small), len(small), 1)
    for key in ("forward_backward", "per_sample_loop", "materialised"):
        results[f"rose_vs_{key}"] = results["rose_images_per_s"] / results[f"{key}_images_per_s"]
    write_text(args.out, json.dumps(results, indent=2))
    for k, v in results.items():
        print(f"{k:40s} {v}")


class _Loss(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return vae_loss(self.model, x)


if __name__ == "__main__":
    main()
