"""Running over several processes with torch.distributed (gloo on CPU, NCCL on GPUs).

ood_ext never starts a process group itself unless asked to (`init_from_environment`, what
`torchrun` sets up); without one every function here is the single-process identity, so the same
code runs alone or distributed.

Sharding convention: with W processes, rank r holds the samples r, r + W, r + 2W, ... of a
sequence (`shard`), like torch's DistributedSampler without padding. Sums are all-reduced in
float64; gathered rows are put back in the original order (`gather`), so a fit or a scoring
pass gives the single-process result up to the order of float64 additions.
"""

import datetime
import os
import socket
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

T = TypeVar("T")
_seconds_in_collectives = [0.0]


@contextmanager
def _timed() -> Iterator[None]:
    """Around every collective: its time is counted, and a failure (a peer lost, a timeout)
    becomes one PeerError line instead of the backend's traceback."""
    start = time.perf_counter()
    try:
        yield
    except (RuntimeError, dist.DistError) as exc:
        raise PeerError(f"rank {rank()}: lost the other processes during a collective ({_first_line(exc)})") from None
    finally:
        _seconds_in_collectives[0] += time.perf_counter() - start


def collective_seconds() -> float:
    """Wall time this process has spent in ood_ext's collectives (all-reduce, gather, broadcast)."""
    return _seconds_in_collectives[0]


def active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def is_main() -> bool:
    """The process that writes files (rank 0)."""
    return rank() == 0


DEFAULT_TIMEOUT = 600.0  # seconds: start-up, and any one collective


class PeerError(RuntimeError):
    """The other processes of the group did not arrive, or were lost: one line saying which."""


def init_from_environment(timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Join the process group described by torchrun's environment (RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT): NCCL when CUDA is available, gloo otherwise; each process on
    the GPU LOCAL_RANK. Returns False (and does nothing) outside such an environment.

    Every wait is bounded by `timeout` seconds: reaching the store (rank 0's, or torchrun's
    agent's), every rank's arrival, and afterwards each collective. A rank whose peers do not all
    arrive in time raises PeerError naming the missing ranks."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) < 2 or dist.is_initialized():
        return dist.is_initialized()
    if not timeout > 0:
        raise ValueError(f"the distributed timeout must be a positive number of seconds, got {timeout}")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    store = _rendezvous(rank, world, timeout)
    dist.init_process_group(backend, store=store, rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=timeout))
    return True


def _rendezvous(rank: int, world: int, timeout: float) -> dist.Store:
    """The group's store, once every rank has announced itself in it (within `timeout` s).
    Under torchrun's agent (TORCHELASTIC_USE_AGENT_STORE) the agent hosts the store and every
    rank is a client, as torch's own env:// rendezvous does; otherwise rank 0 hosts it."""
    host, port = os.environ.get("MASTER_ADDR", "127.0.0.1"), int(os.environ.get("MASTER_PORT", "29500"))
    agent = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == str(True)
    deadline = time.monotonic() + timeout
    hosting = rank == 0 and not agent
    owner = "torchrun's agent" if agent else "rank 0"
    # A client first waits for the store's port itself: c10d's own retries log a line per attempt.
    if not hosting and not _reachable(host, port, deadline):
        raise PeerError(f"rank {rank}: {owner} is missing: its store at {host}:{port} did not answer within "
                        f"{timeout:g} s (--dist-timeout)")
    try:
        store = dist.TCPStore(host, port, world, is_master=hosting,
                              timeout=datetime.timedelta(seconds=max(deadline - time.monotonic(), 1.0)),
                              wait_for_workers=False)
    except (RuntimeError, dist.DistError) as exc:
        raise PeerError(f"rank {rank}: could not open the store at {host}:{port} ({_first_line(exc)})") from None
    if agent:
        store = dist.PrefixStore(f"/worker/attempt_{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}", store)
    store.set(f"ood_ext/arrived/{rank}", "1")
    while True:
        missing = [r for r in range(world) if not store.check([f"ood_ext/arrived/{r}"])]
        if not missing:
            return store
        if time.monotonic() > deadline:
            raise PeerError(f"rank {rank}: rank(s) {', '.join(map(str, missing))} of {world} did not arrive within "
                            f"{timeout:g} s (--dist-timeout)")
        time.sleep(0.05)


def _reachable(host: str, port: int, deadline: float) -> bool:
    """Whether a TCP connection to host:port succeeds before `deadline` (time.monotonic)."""
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _device() -> torch.device:
    """Where collectives run: the current GPU for NCCL, the CPU for gloo."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def shard(items: Sequence[T]) -> Sequence[T]:
    """This rank's share of a sequence (a tensor's rows, a list): items[rank::world_size]."""
    return items[rank()::world_size()]


def shard_size(total: int) -> int:
    """len(shard(range(total)))."""
    return len(range(rank(), total, world_size()))


def all_reduce_sum(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The element-wise sums over ranks, in float64 (new tensors, on each input's device)."""
    if not active():
        return tuple(t.double() for t in tensors)
    out = []
    for t in tensors:
        total = t.detach().to(_device(), torch.float64).contiguous()
        with _timed():
            dist.all_reduce(total)
        out.append(total.to(t.device))
    return tuple(out)


def total_count(local: int) -> int:
    """The sum over ranks of an integer."""
    return int(all_reduce_sum(torch.tensor([float(local)]))[0].item()) if active() else local


def maximum(local: float) -> float:
    """The largest value over ranks of a number."""
    if not active():
        return local
    value = torch.tensor([float(local)], dtype=torch.float64, device=_device())
    with _timed():
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return float(value.item())


def gather(local: Tensor) -> Tensor:
    """Undo `shard`: every rank's rows [n_r, ...] (rank r holding rows r, r + W, ...) put back in
    their original order, [Σ n_r, ...], on every rank (dtype kept, on local's device)."""
    if not active():
        return local
    sizes = [int(s) for s in all_reduce_sum(_one_hot(len(local)))[0].tolist()]
    if any(size != len(range(r, sum(sizes), len(sizes))) for r, size in enumerate(sizes)):
        raise ValueError(f"gather: ranks hold {sizes} rows, not the strided shards of {sum(sizes)} rows")
    padded = torch.zeros((max(sizes), *local.shape[1:]), dtype=local.dtype, device=_device())
    padded[: len(local)] = local.to(_device())
    parts = [torch.empty_like(padded) for _ in sizes]
    with _timed():
        dist.all_gather(parts, padded)
    out = torch.empty((sum(sizes), *local.shape[1:]), dtype=local.dtype, device=_device())
    for r, (part, size) in enumerate(zip(parts, sizes)):
        out[r::len(sizes)] = part[:size]
    return out.to(local.device)


def _one_hot(count: int) -> Tensor:
    sizes = torch.zeros(world_size())
    sizes[rank()] = count
    return sizes


def map_sharded(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """fn over this rank's shard of x's rows, gathered back in order: fn(x) computed W ways."""
    return gather(fn(shard(x))) if active() else fn(x)


def broadcast(tensor: Tensor) -> Tensor:
    """Rank 0's value of a tensor on every rank (e.g. eigenvectors, whose signs another machine's
    solver may choose differently)."""
    if not active():
        return tensor
    value = tensor.detach().to(_device()).contiguous()
    with _timed():
        dist.broadcast(value, 0)
    return value.to(tensor.device)


def average_(tensors: Sequence[Tensor]) -> None:
    """Replace each tensor by its mean over ranks, in place (one flat all-reduce in their dtype)."""
    if not active() or not tensors:
        return
    flat = torch.cat([t.detach().reshape(-1) for t in tensors]).to(_device())
    with _timed():
        dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for t in tensors:
        t.copy_(flat[offset : offset + t.numel()].view_as(t))
        offset += t.numel()


def broadcast_module_(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers into every rank's module, in place."""
    if not active():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            tensor.copy_(broadcast(tensor))


def shard_batch(batch):
    """This rank's rows of a batch (a tensor, or a tuple / list of tensors of one length)."""
    if isinstance(batch, (tuple, list)):
        return type(batch)(shard(item) for item in batch)
    return shard(batch)


def barrier() -> None:
    if active():
        with _timed():
            dist.barrier()


def leave() -> None:
    """Tear down the process group once every rank has arrived here: a gloo group destroyed while
    a peer still talks to it can abort the process (SIGABRT, seen once in CI)."""
    if dist.is_available() and dist.is_initialized():
        barrier()
        dist.destroy_process_group()


__all__ = ["DEFAULT_TIMEOUT", "PeerError", "active", "all_reduce_sum", "average_", "barrier", "broadcast_module_",
           "broadcast", "collective_seconds", "gather", "init_from_environment", "is_main", "leave",
           "map_sharded", "maximum", "rank", "shard", "shard_batch", "shard_size", "total_count", "world_size"]
