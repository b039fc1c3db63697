"""Where datasets live: a data root (argument or $OOD_EXT_DATA) and known system places."""

import os
from pathlib import Path
from typing import Iterable, Optional

DATA_ENV = "OOD_EXT_DATA"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not in any of the places searched; the message says how to get them."""


def data_roots(data_root: Optional[str | Path] = None) -> list[Path]:
    """Search order: the explicit data root, then $OOD_EXT_DATA."""
    roots = [Path(data_root)] if data_root else []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]))
    return roots


def find_dir(name: str, required: Iterable[str], candidates: Iterable[Path], how_to_get: str) -> Path:
    """The first candidate folder holding every required file (each may also exist as .gz)."""
    required = list(required)
    searched = []
    for folder in candidates:
        searched.append(str(folder))
        if all(_exists(folder / f) for f in required):
            return folder
    raise DatasetNotFoundError(
        f"{name} not found (looked for {', '.join(required)} in: {', '.join(searched) or 'no folder'}). "
        f"{how_to_get}"
    )


def resolve(folder: Path, filename: str) -> Path:
    """folder/filename, or its .gz sibling."""
    path = folder / filename
    return path if path.exists() else path.with_name(path.name + ".gz")


def _exists(path: Path) -> bool:
    return path.exists() or path.with_name(path.name + ".gz").exists()
