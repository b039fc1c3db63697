"""Writing files safely. Every file the library writes (reports, figures, results, models,
checkpoints, data exports) goes through here: it is created fresh under a random name in its
destination folder (O_CREAT | O_EXCL, so never through a planted link and never truncating a
file the library did not create), written completely, then renamed over the destination — a
link planted at the destination is replaced, not followed, and a crash leaves the old file."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

import torch

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Call write(f) on a fresh temporary file next to `path`, then rename it to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp's 0600 would hide reports from other users
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text.encode("utf-8")))


def write_bytes(path: Path, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def save_torch(obj: Any, path: Path) -> None:
    """torch.save, atomically."""
    write_atomic(path, lambda f: torch.save(obj, f))


def save_figure(figure, path: Path, **savefig_kwargs) -> None:
    """A matplotlib figure as PNG, atomically."""
    write_atomic(path, lambda f: figure.savefig(f, format="png", **savefig_kwargs))


def write_folder(folder: Path, fill: Callable[[Path], Any]) -> None:
    """Write a set of files as one unit: fill(staging) writes them into a fresh staging folder
    beside `folder`; only when it returns are they renamed into `folder` (each replacing the file
    of that name, never following a link). If fill raises, `folder` is left unchanged."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".staging"))
    try:
        fill(staging)
        for path in sorted(staging.iterdir()):
            os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_writable(folder: Path) -> None:
    """Create `folder` if needed and prove a file can be created in it (an anonymous temporary
    file: no fixed name a link could be planted at). Raises OSError otherwise."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=folder):
        pass
