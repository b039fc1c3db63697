"""Reader for the IDX format of MNIST-style datasets (raw or gzip-compressed)."""

import gzip
import math
from pathlib import Path

import numpy as np

from ..files import write_bytes

# Type codes of the IDX header (third byte of the magic number).
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
           0x0E: np.dtype(">f8")}


class CorruptFileError(ValueError):
    """A data file is truncated, malformed or not what its name says."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array of its declared shape and type.

    Raises:
        CorruptFileError: bad magic number, unknown type code, or a payload whose length does not
            match the header (a truncated or padded file), or an unreadable gzip stream.
    """
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CorruptFileError(f"{path}: not a readable gzip file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise CorruptFileError(f"{path}: not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _DTYPES or ndim == 0:
        raise CorruptFileError(f"{path}: unsupported IDX type code 0x{code:02x} or rank {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptFileError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[code])
    expected = header + math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a forged header
    if len(raw) != expected:
        raise CorruptFileError(
            f"{path}: IDX payload is {len(raw) - header} bytes but the header {shape} needs "
            f"{expected - header}; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write an array as IDX (gzip-compressed when the name ends in .gz); for fixtures and exports."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}
    dtype = np.dtype(array.dtype).newbyteorder("=")
    if dtype not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, codes[dtype], array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    payload = header + np.ascontiguousarray(array).astype(_DTYPES[codes[dtype]]).tobytes()
    path = Path(path)
    write_bytes(path, gzip.compress(payload) if path.suffix == ".gz" else payload)
