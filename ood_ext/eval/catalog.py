"""The OOD sets the benchmark can score, by name, built for a given in-distribution test set.

Names: external sets (`fashion-mnist`, `animals`, `digits`, `faces`, `textures`, `letters` (glyphs
A–J rendered in the installed fonts, a notMNIST stand-in), and from a data
root `mnist`, `kmnist`, `emnist`, `cifar10`, `svhn`), transformations of the ID test images
(`rot90`, `rot180`, `rot270`, `shuffle`, `bright0.5`), synthetic (`noise`, `constant`), the
MNIST-C corruptions `c-<name>`, and near-OOD mixes `near-c-<name>` / `near-animals` / `near-digits`
with k = 0.1 (k · OOD image + (1 − k) · ID test image).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..data import corruptions, datasets, ood_sets
from ..data.images import ImageSet, resize, to_grayscale
from . import seeds

NEAR_K = 0.1


@dataclass
class Context:
    """What the builders need: the clean ID test images (grayscale, size × size), the number of
    images per OOD set, a seed and the data root."""

    id_test: ImageSet
    n: Optional[int]
    seed: int
    data_root: Optional[Path]
    _built: dict = field(default_factory=dict, repr=False)

    def cached(self, key: str, build: Callable[[], ImageSet]) -> ImageSet:
        """build() once per key: c-<name> and near-c-<name> share one corrupted set, animals and
        near-animals one load."""
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    @property
    def size(self) -> int:
        return self.id_test.images.shape[-1]

    @property
    def shape(self) -> tuple:
        return self.id_test.images.shape[1:]

    def external(self, data: ImageSet) -> ImageSet:
        """An external set as grayscale size × size images, n of them."""
        data = data.subset(self.n, self.seed)
        images = to_grayscale(data.images)
        if images.shape[-1] != self.size or images.shape[-2] != self.size:
            images = resize(images, self.size)
        return data.with_images(images, data.name, keep_labels=False)

    def id_subset(self) -> ImageSet:
        return self.id_test.subset(self.n, self.seed + seeds.OOD_SOURCE)


def _external(loader: Callable[["Context"], ImageSet]) -> Callable[[Context], ImageSet]:
    return lambda ctx: ctx.external(loader(ctx))


def _corruption(name: str) -> Callable[[Context], ImageSet]:
    return lambda ctx: ctx.cached(f"c-{name}", lambda: corruptions.apply(name, ctx.id_subset(), ctx.seed))


def _near_corruption(name: str) -> Callable[[Context], ImageSet]:
    def build(ctx: Context) -> ImageSet:
        return ood_sets.interpolate(_corruption(name)(ctx), ctx.id_subset(), NEAR_K, paired=True)

    return build


def _animals(ctx: Context) -> ImageSet:
    return ctx.cached("animals", lambda: ctx.external(datasets.animal_mnist(ctx.data_root)))


def _digits(ctx: Context) -> ImageSet:
    return ctx.cached("digits", lambda: ctx.external(datasets.digits(ctx.size)))


def _near(far: Callable[[Context], ImageSet]) -> Callable[[Context], ImageSet]:
    """k · an image of the external set `far` + (1 − k) · a random ID test image."""
    return lambda ctx: ood_sets.interpolate(far(ctx), ctx.id_subset(), NEAR_K, paired=False, seed=ctx.seed)


BUILDERS: dict[str, Callable[[Context], ImageSet]] = {
    "fashion-mnist": _external(lambda ctx: datasets.fashion_mnist("test", ctx.data_root)),
    "animals": _animals,
    "digits": _digits,
    "faces": _external(lambda ctx: datasets.faces(ctx.size)),
    "textures": _external(lambda ctx: datasets.textures(ctx.n or 2000, ctx.size, ctx.seed)),
    "letters": _external(lambda ctx: datasets.letters(ctx.n or 2000, ctx.size, ctx.seed)),
    "mnist": _external(lambda ctx: datasets.mnist("test", ctx.data_root)),
    "kmnist": _external(lambda ctx: datasets.kmnist("test", ctx.data_root)),
    "emnist": _external(lambda ctx: datasets.emnist("test", ctx.data_root)),
    "cifar10": _external(lambda ctx: datasets.cifar10("test", ctx.data_root)),
    "svhn": _external(lambda ctx: datasets.svhn("test", ctx.data_root)),
    "rot90": lambda ctx: ood_sets.rotate(ctx.id_subset(), 90),
    "rot180": lambda ctx: ood_sets.rotate(ctx.id_subset(), 180),
    "rot270": lambda ctx: ood_sets.rotate(ctx.id_subset(), 270),
    "shuffle": lambda ctx: ood_sets.patch_shuffle(ctx.id_subset(), 4, ctx.seed),
    "bright0.5": lambda ctx: ood_sets.brightness(ctx.id_subset(), 0.5),
    "noise": lambda ctx: ood_sets.uniform_noise(ctx.n or 1000, ctx.shape, ctx.seed),
    "constant": lambda ctx: ood_sets.constant(ctx.n or 1000, ctx.shape, ctx.seed),
    "near-animals": _near(_animals),
    "near-digits": _near(_digits),
}
for _name in corruptions.CORRUPTIONS:
    BUILDERS[f"c-{_name}"] = _corruption(_name)
    BUILDERS[f"near-c-{_name}"] = _near_corruption(_name)

# Every offline-available set for each ID dataset (`--ood all`).
_COMMON = ["rot90", "rot180", "rot270", "shuffle", "noise", "constant"]
_CORRUPTED = [f"c-{n}" for n in corruptions.CORRUPTIONS] + [f"near-c-{n}" for n in corruptions.CORRUPTIONS]
ALL_OOD = {
    "fashion-mnist": ["digits", "animals", "faces", "textures", "letters", *_COMMON, *_CORRUPTED, "near-animals",
                      "near-digits"],
    "digits": ["faces", "textures", "letters", *_COMMON, *_CORRUPTED],
    "mnist": ["fashion-mnist", "animals", "digits", "faces", "textures", "letters", *_COMMON, *_CORRUPTED,
              "near-animals", "near-digits"],
    "kmnist": ["fashion-mnist", "animals", "digits", "faces", "textures", "letters", *_COMMON, *_CORRUPTED],
}


# The default run's representative selection: far sets (other datasets, noise, constant images)
# and near ones (a rotation, a corruption, a near-OOD mix), each from ALL_OOD.
_REPRESENTATIVE = ["fashion-mnist", "digits", "animals", "faces", "noise", "constant", "rot90", "c-fog", "near-animals"]
DEFAULT_OOD = {id_name: [s for s in _REPRESENTATIVE if s in sets] for id_name, sets in ALL_OOD.items()}


def build(name: str, ctx: Context) -> ImageSet:
    """The OOD set `name` for this context, renamed to `name`."""
    if name not in BUILDERS:
        raise KeyError(name)
    data = BUILDERS[name](ctx)
    return ImageSet(name, data.images, None, None)
