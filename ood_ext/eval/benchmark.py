"""`ood-ext benchmark`: train (or load) the models, fit each method on ID training data, score
the ID test set and every OOD set, and write report.md, results.json and figures.

The ID data are the ID dataset's known classes: all of them, or all but the held-out ones, whose
test images then form one more OOD set (leave-one-class-out; open-set recognition with several).
"""

import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .. import distributed, progress
from .. import methods as registry
from ..data import datasets, ood_sets
from ..data.idx import CorruptFileError
from ..data.images import ImageSet, loader
from ..data.sources import DatasetNotFoundError
from ..files import check_writable, write_folder
from ..methods import MethodContext, get_profile
from . import catalog, figures, models, seeds, timings
from .report import write_report
from .scoring import grid_metrics, known_scores, open_set, score_sets


class BenchmarkError(Exception):
    """A bad benchmark request (unknown name, missing data, unwritable output): one-line message."""


@dataclass
class BenchmarkConfig:
    id: str = "fashion-mnist"
    methods: list = field(default_factory=registry.default_methods)
    ood: Optional[list] = None  # None: the ID dataset's default sets; ["none"]: only the held-out class
    profile: str = "quick"
    out: Path = Path("runs/report")
    cache: Optional[Path] = None  # default: <out>/../cache
    data_root: Optional[Path] = None
    device: str = "auto"
    seed: int = 0
    heldout_classes: Optional[tuple] = (0,)  # classes left out of the ID data as one more OOD set; None: none
    progress: bool = True
    dist_timeout: float = distributed.DEFAULT_TIMEOUT  # seconds a process waits for its peers (torchrun)


MAX_SEED = 2**31 - 1  # seeds feed numpy (< 2**32) and torch, with offsets added


def validate(config: BenchmarkConfig) -> None:
    """Reject unknown names and an unwritable output folder before any work starts."""
    if config.id not in datasets.IN_DISTRIBUTION:
        raise BenchmarkError(f"unknown ID dataset {config.id!r}; choose from {', '.join(datasets.IN_DISTRIBUTION)}")
    known = registry.methods()
    unknown = [m for m in config.methods if m not in known]
    if unknown or not config.methods:
        raise BenchmarkError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; choose from "
                             f"{', '.join(known)}")
    if config.ood is not None and not config.ood:
        raise BenchmarkError("--ood names no set: give set names, 'all' or 'none' (or leave it out for the defaults)")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed <= MAX_SEED:
        raise BenchmarkError(f"seed (--seed) must be an integer in [0, {MAX_SEED}], got {config.seed!r}")
    if not 0 < config.dist_timeout < float("inf"):
        raise BenchmarkError(f"dist_timeout (--dist-timeout) must be a positive number of seconds, got "
                             f"{config.dist_timeout!r}")
    if config.ood == ["none"] and config.heldout_classes is None:
        raise BenchmarkError("--ood none leaves only the held-out-class experiment: give --heldout-class")
    bad_sets = [s for s in (config.ood or []) if s not in catalog.BUILDERS and config.ood != ["none"]]
    if bad_sets:
        raise BenchmarkError(f"unknown OOD set(s) {', '.join(bad_sets)}; choose from {', '.join(catalog.BUILDERS)}")
    if config.ood and config.id in config.ood:
        raise BenchmarkError(f"{config.id} is the ID dataset; it cannot also be an OOD set")
    try:
        get_profile(config.profile)
    except ValueError as exc:
        raise BenchmarkError(str(exc)) from exc
    if config.device not in ("auto", "cpu") and not config.device.startswith("cuda"):
        raise BenchmarkError(f"device must be auto, cpu or cuda[:N], got {config.device!r}")
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise BenchmarkError(f"device {config.device} requested but CUDA is not available")
    for folder in (config.out, config.cache or config.out.parent / "cache") if distributed.is_main() else ():
        try:
            check_writable(folder)
        except OSError as exc:
            raise BenchmarkError(f"cannot write to {folder}: {exc.strerror or exc}") from exc


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _id_data(config: BenchmarkConfig) -> tuple[ImageSet, ImageSet]:
    """The whole ID training and test sets (each experiment draws its subsets)."""
    load = datasets.IN_DISTRIBUTION[config.id]
    return load("train", config.data_root), load("test", config.data_root)


def _ood_sets(config: BenchmarkConfig, test: ImageSet, profile, show: bool, skipped: dict) -> dict[str, ImageSet]:
    names = config.ood or catalog.DEFAULT_OOD[config.id]
    ctx = catalog.Context(test, profile.sizes.ood_samples, config.seed, config.data_root)
    built = {}
    for name in progress.bar(names, "OOD sets", show):
        try:
            built[name] = catalog.build(name, ctx)
        except DatasetNotFoundError as exc:
            if config.ood:  # asked for explicitly: an error
                raise BenchmarkError(str(exc)) from exc
            skipped[name] = str(exc)
    return built


def _data(config: BenchmarkConfig, profile, show: bool,
          skipped: dict) -> tuple[ImageSet, ImageSet, ImageSet, ImageSet, dict]:
    """(ID train, spare ID training images, ID test, every ID test image, OOD sets): the known
    classes' subsets (the spare ones are the known training images left out of `train`, which no
    model or fit sees; the detectors score the ID test subset, the trainers measure their models'
    quality on up to all the test images), and the chosen sets plus the held-out classes' test
    images."""
    sizes = profile.sizes
    try:
        full_train, full_test = _id_data(config)
        if config.heldout_classes is None:
            known_train, known_test, held_out = full_train, full_test, None
        else:
            known_train, known_test, held_out = ood_sets.held_out_classes(full_train, full_test,
                                                                          config.heldout_classes)
        train, spare = known_train.split(sizes.train_samples, config.seed)
        test = known_test.subset(sizes.test_samples, config.seed)
        sets = {} if config.ood == ["none"] else _ood_sets(config, test, profile, show, skipped)
        if held_out is not None:
            sets[f"heldout-{held_out.name.split('-class-')[-1]}"] = held_out.subset(sizes.ood_samples, config.seed)
    except (DatasetNotFoundError, CorruptFileError) as exc:
        raise BenchmarkError(str(exc)) from exc
    except ValueError as exc:  # e.g. a held-out class out of range
        raise BenchmarkError(str(exc)) from exc
    return train, spare, test, known_test, sets


def _images_per_set(method, profile) -> Optional[int]:
    """How many images of each set the method scores (None: all): the profile's figure for the
    method if it has one (a protocol's scale), else the method's for the profile."""
    if method.name in profile.images_per_set:
        return profile.images_per_set[method.name]
    return method.images_per_set[profile.name] if method.images_per_set else None


def _fit_images(method, profile) -> Optional[int]:
    """How many ID training images the method is fitted on (None: all)."""
    return method.fit_images[profile.name] if method.fit_images else profile.sizes.fit_samples


def _plan(config: BenchmarkConfig, profile, train: ImageSet, test: ImageSet, sets: dict, cache: Path,
          show: bool) -> progress.Plan:
    """The run's stages: each model to train (image-epochs; none when it is cached), each
    method's fit and scoring (images), with the seconds an earlier run measured for the same
    stage at the same size where the cache's timings have them."""
    plan = progress.Plan(enabled=show)
    known = timings.load(cache)
    kinds = registry.kinds()
    for kind in registry.required_kinds(config.methods):
        settings = profile.settings(kind)
        images = min(len(train), getattr(settings, "train_samples", None) or len(train))
        cached = models.cache_path(kinds[kind], train, profile, cache, config.seed).exists()
        work = 0 if cached else images * getattr(settings, "epochs", 1)
        plan.expect(f"train {kind}", "train", work, known.get(timings.key(profile.cache_label, f"train {kind}", work)))
    methods = registry.methods()
    for name in config.methods:
        cap, fit = _images_per_set(methods[name], profile), _fit_images(methods[name], profile)
        for stage, work in ((f"fit {name}", min(len(train), fit or len(train))),
                            # the ID test set twice: its own images and as many known ones (calibration)
                            (f"score {name}", sum(min(len(d), cap or len(d)) for d in [test, test, *sets.values()]))):
            plan.expect(stage, stage.split()[0], work, known.get(timings.key(profile.cache_label, stage, work)))
    return plan


def run(config: BenchmarkConfig) -> dict:
    """Run the benchmark; returns the results dictionary also written to results.json."""
    validate(config)
    results, scored = evaluate(config, get_profile(config.profile))
    if distributed.is_main():  # rank 0 writes the report
        try:
            _write(config.out, scored, results)
        except OSError as exc:
            raise BenchmarkError(f"cannot write the report to {config.out}: {exc.strerror or exc}") from exc
    return results


def evaluate(config: BenchmarkConfig, profile) -> tuple[dict, dict]:
    """Train or load the models, fit and score every method of a validated config at `profile`
    (a benchmark profile, or a paper protocol's scale): (the results dictionary, the scored
    pairs per method)."""
    started = time.perf_counter()
    sizes = profile.sizes
    device = _device(config.device)
    cache = config.cache or config.out.parent / "cache"
    show = config.progress and distributed.is_main()
    skipped: dict = {}
    train, spare, test, model_test, sets = _data(config, profile, show, skipped)
    plan = _plan(config, profile, train, test, sets, cache, show)
    progress.activate(plan)
    try:
        scored, model_info, method_info = _train_fit_score(config, profile, train, spare, test, model_test, sets,
                                                           device, cache, plan)
    finally:
        progress.activate(None)
    if distributed.is_main():
        timings.store(cache, profile.cache_label, plan.durations)

    results = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
        | {"ood_samples": sizes.ood_samples, "sizes": asdict(sizes)},
        "machine": {"device": str(device), "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
                    "platform": platform.platform(), "cores": os.cpu_count(), "processes": distributed.world_size()},
        "id": {"train_size": len(train), "test_size": len(test), "classes": list(train.classes or [])},
        "models": model_info,
        "methods": method_info,
        "metrics": grid_metrics(scored),
        "skipped": skipped,
        "elapsed_seconds": time.perf_counter() - started,
    }
    return results, scored


def _train_fit_score(config: BenchmarkConfig, profile, train: ImageSet, spare: ImageSet, test: ImageSet,
                     model_test: ImageSet, sets: dict, device: torch.device, cache: Path,
                     plan: progress.Plan) -> tuple[dict, dict, dict]:
    """Train or load every model the methods need, then fit and score each method:
    (scored pairs per method, model info per kind, method info per method)."""
    methods, kinds = registry.methods(), registry.kinds()
    show = plan.enabled
    trained, model_info = {}, {}
    for kind in registry.required_kinds(config.methods):
        uses = {k: trained[k].model for k in kinds[kind].uses}
        plan.begin(f"train {kind}")
        t0 = time.perf_counter()
        try:
            trained[kind] = models.provide(kinds[kind], train, model_test, profile, cache, device, config.seed, show,
                                           uses)
        except ValueError as exc:  # an unreadable or mismatched cached model / checkpoint
            raise BenchmarkError(f"{exc} (delete it to retrain)") from exc
        model_info[kind] = trained[kind].info
        seconds = time.perf_counter() - t0
        plan.finish(f"{kind}: loaded from the cache" if trained[kind].cached else
                    f"{kind}: trained in {progress.duration(seconds)}")
    ctx = MethodContext({k: t.model for k, t in trained.items()}, profile.name, options=dict(profile.options))
    scored: dict[str, list] = {}
    method_info = {}
    for name in config.methods:
        method = methods[name]
        inputs = kinds[method.models[0]].inputs
        cap = _images_per_set(method, profile)
        unseen = method.fit_unseen and len(spare) > 0
        fit_data, held_back = (spare if unseen else train).split(_fit_images(method, profile),
                                                                 config.seed + seeds.FIT_SUBSET)
        torch.manual_seed(config.seed)  # stochastic scores (IWAE, Likelihood Regret, f_rec) repeat exactly
        detector = method.detector(ctx)
        detector.progress = show
        plan.begin(f"fit {name}")
        t0 = time.perf_counter()
        labels = None if fit_data.labels is None else distributed.shard(fit_data.labels)
        detector.fit(loader(inputs(distributed.shard(fit_data.images)), labels, batch_size=256))
        fit_seconds = time.perf_counter() - t0
        plan.finish(f"{name}: fitted on {len(fit_data)} images in {progress.duration(fit_seconds)}", len(fit_data))
        plan.begin(f"score {name}")
        id_set, batch_size = test.subset(cap, config.seed + seeds.ID_SCORED), 64 if cap else 256
        ood = {s: inputs(d.subset(cap, config.seed + seeds.OOD_SCORED).images) for s, d in sets.items()}
        pairs, speed = score_sets(detector, inputs(id_set.images), ood, batch_size)
        # Known training images, as many as ID test images, that neither the models nor the fit saw
        # (exchangeable with the test images) — else, when the models trained on every one, those
        # the fit did not see: the conformal calibration set, and the reference of the open-set
        # threshold if the detector classifies.
        unused = held_back if unseen else spare
        source, calibration = ((unused, "unseen by the models and the fit") if len(unused) else
                               (held_back, "unseen by the fit (the models trained on them)") if len(held_back) else
                               (fit_data, None))
        known = source.subset(len(id_set), config.seed + seeds.KNOWN_SCORED)
        reference = known_scores(detector, inputs(known.images), batch_size)
        recognition = (open_set(detector, reference, inputs(id_set.images), id_set.labels, len(train.classes),
                                batch_size) if detector.predicts and id_set.labels is not None else None)
        for pair in pairs:
            pair.open_set = recognition
            pair.calibration = np.sort(reference) if calibration else None
        scored[name] = pairs
        images = len(id_set) + len(known) + sum(len(x) for x in ood.values())
        plan.finish(f"{name}: scored {images} images ({speed:.0f} images/s)", images)
        method_info[name] = {"family": registry.family_of(name).name, "summary": method.summary,
                             "models": list(method.models),
                             "detector": type(detector).__name__, "settings": detector.config(),
                             "fitted": _fitted_scalars(detector),
                             "fit_seconds": fit_seconds, "images_per_second": speed,
                             "images_per_set": cap, "fit_images": len(fit_data), "fit_unseen": unseen,
                             "calibration": calibration}
    return scored, model_info, method_info


def _fitted_scalars(detector) -> dict[str, float]:
    """The single numbers a fit chose (ODIN's ε, ReAct's clip, ...), its parts' included."""
    values = {}
    for part in (detector, *detector._parts()):
        for name in part.fitted_attributes:
            value = getattr(part, name, None)
            if torch.is_tensor(value) and value.dim() == 0:
                values[name if part is detector else f"{type(part).__name__}.{name}"] = float(value)
    return values


def _write(out: Path, scored: dict, results: dict) -> None:
    """The figures, report.md and results.json, as one unit (all of them, or `out` unchanged)."""

    def fill(folder: Path) -> None:
        written = ["auroc.png"]
        figures.auroc_heatmap(results["metrics"], folder / "auroc.png")
        for name, pairs in scored.items():
            figures.roc_curves(name, pairs, folder / f"roc_{name}.png")
            figures.score_histograms(name, pairs, folder / f"hist_{name}.png")
            written += [f"roc_{name}.png", f"hist_{name}.png"]
        write_report(folder, results, written)

    write_folder(out, fill)
