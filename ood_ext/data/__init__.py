"""Offline datasets, image transforms and OOD-set builders."""

from . import corruptions, datasets, ood_sets
from .idx import CorruptFileError, read_idx, write_idx
from .images import ImageSet, from_uint8, loader, resize, to_grayscale, to_tensor
from .sources import DATA_ENV, DatasetNotFoundError

__all__ = ["CorruptFileError", "DATA_ENV", "DatasetNotFoundError", "ImageSet", "corruptions", "datasets",
           "from_uint8", "loader", "ood_sets", "read_idx", "resize", "to_grayscale", "to_tensor", "write_idx"]
