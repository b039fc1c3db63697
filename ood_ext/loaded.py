"""Checks on what was read back from a file (a checkpoint, a detector state) before it is used or
printed: a bounded walk over nested containers, and bounded one-line summaries.

A pickle of a few hundred bytes can hold a structure that is exponentially large when walked
(lists or dicts that reference the same object at every level): comparing, printing or
serialising it would not finish. `check_structure` visits at most `max_nodes` entries and at most
`max_depth` levels and raises ValueError past either, so everything after it runs on data of
bounded size.
"""

import math
from numbers import Number
from typing import Any

import torch

PLAIN_SCALARS = (bool, int, float, str, bytes, type(None))
MAX_DEPTH = 12  # an optimiser's state dict is 4 deep
MAX_NODES = 200_000  # entries of a model's or optimiser's state dict, with room to spare


def check_structure(value: Any, what: str, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> None:
    """ValueError unless `value` is built of dicts, lists and tuples (keys: str / int) over
    tensors, torch.Size and plain scalars, at most `max_depth` levels deep with at most
    `max_nodes` entries in all (a shared sub-structure counts once per place it appears)."""
    stack, seen = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_nodes:
            raise ValueError(f"{what} holds more than {max_nodes} entries (nested containers shared or too large)")
        if torch.is_tensor(item) or isinstance(item, PLAIN_SCALARS + (torch.Size,)):
            continue
        if isinstance(item, (dict, list, tuple)):
            if depth >= max_depth:
                raise ValueError(f"{what} is nested more than {max_depth} levels deep")
            if isinstance(item, dict):
                bad = next((k for k in item if not isinstance(k, (str, int))), None)
                if bad is not None:
                    raise ValueError(f"{what} has a key of type {type(bad).__name__}")
                children = item.values()
            else:
                children = item
            stack.extend((child, depth + 1) for child in children)
            continue
        raise ValueError(f"{what} holds a {type(item).__name__}, not tensors and plain values")


def check_flat_record(value: Any, what: str, max_entries: int = 64, max_text: int = 1000) -> dict:
    """`value` if it is a dict of at most `max_entries` str keys to plain values (bool, int,
    finite float, str of at most `max_text` characters, None, or a list of at most `max_entries`
    ints and finite floats, e.g. a loss per noise level); ValueError otherwise."""
    if not isinstance(value, dict):
        raise ValueError(f"{what} is a {type(value).__name__}, not a dict of plain values")
    if len(value) > max_entries:
        raise ValueError(f"{what} has {len(value)} entries (at most {max_entries})")
    for key, item in value.items():
        if not isinstance(key, str) or len(key) > 100:
            raise ValueError(f"{what} has a key that is not a short string: {summary(key)}")
        if isinstance(item, list):
            if len(item) > max_entries or not all(isinstance(v, (int, float)) for v in item):
                raise ValueError(f"{what}[{key!r}] is a list, not a plain value (at most {max_entries} numbers)")
            if not all(math.isfinite(v) for v in item):
                raise ValueError(f"{what}[{key!r}] holds {summary(item)}, not finite numbers")
        elif not isinstance(item, (bool, int, float, str, type(None))):
            raise ValueError(f"{what}[{key!r}] is a {type(item).__name__}, not a plain value")
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{what}[{key!r}] is {item}, not a finite number")
        if isinstance(item, str) and len(item) > max_text:
            raise ValueError(f"{what}[{key!r}] is a string of {len(item)} characters (at most {max_text})")
    return value


def check_finite_values(value: Any, what: str) -> None:
    """ValueError unless every float and floating-point tensor inside `value` (a checked
    structure) is finite and every such tensor is float32 or float64."""
    stack = [(value, what)]
    while stack:
        item, where = stack.pop()
        if torch.is_tensor(item):
            if item.is_floating_point() or item.is_complex():
                if item.dtype not in (torch.float32, torch.float64):
                    raise ValueError(f"{where} is a {item.dtype} tensor; fitted states are float32 or float64 "
                                     "(convert it with .float() or .double() before loading)")
                if not torch.isfinite(item).all():
                    raise ValueError(f"{where} contains NaN or infinite values")
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{where} is {item}, not a finite number")
        elif isinstance(item, dict):
            stack.extend((v, f"{where}[{k!r}]") for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))


def summary(value: Any, limit: int = 120) -> str:
    """A one-line description of `value` of at most about `limit` characters (containers are
    described by type and length, never walked in full)."""
    if torch.is_tensor(value):
        return f"tensor{list(value.shape)} {value.dtype}"
    if isinstance(value, (dict, list, tuple)):
        kind = type(value).__name__
        if isinstance(value, dict):
            keys = list(value)[:6]
            inner = ", ".join(f"{k!r}: {_short(value[k])}" for k in keys) if all(isinstance(k, (str, int))
                                                                              for k in keys) else "…"
        else:
            inner = ", ".join(_short(v) for v in list(value)[:6])
        more = ", …" if len(value) > 6 else ""
        opening, closing = ("{", "}") if kind == "dict" else ("[", "]")
        text = f"{kind} of {len(value)}: {opening}{inner}{more}{closing}"
    elif isinstance(value, (Number, str, bytes, type(None))):
        text = repr(value)
    else:
        text = type(value).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return f"{type(value).__name__} of {len(value)}"
    return summary(value, 30)


__all__ = ["check_finite_values", "check_flat_record", "check_structure", "summary"]
