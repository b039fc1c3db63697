"""A paper's claims, evaluated on the rows a reproduction measured.

A row is what reproduction.json lists: {"table", "method", "set", "metric", "ours", "paper"}; an
overall row has no "set" (the metric over all of a table's OOD sets together). Each claim says
whether it holds and why, naming the numbers it compared. Higher is better for every metric but
fpr95.
"""

from dataclasses import dataclass
from typing import Optional, Sequence

LOWER_IS_BETTER = ("fpr95",)


def _better(metric: str, a: float, b: float, strict: bool) -> bool:
    if metric in LOWER_IS_BETTER:
        a, b = -a, -b
    return a > b if strict else a >= b


def _values(rows: Sequence[dict], method: str, metric: str, table: Optional[str]) -> dict[str, float]:
    """{set: ours} of one method and metric (of one table, or the first table listing each set)."""
    found: dict[str, float] = {}
    for row in rows:
        if row["method"] == method and row["metric"] == metric and (table is None or row["table"] == table):
            found.setdefault(row["set"], row["ours"])
    return found


@dataclass(frozen=True)
class Claim:
    """A statement about methods; `evaluate` → (holds, the numbers behind the verdict)."""

    text: str

    def methods(self) -> tuple[str, ...]:
        return ()

    def problems(self, protocol) -> list[str]:
        """What the claim names that the protocol does not run."""
        return [f"method {m!r} is not run by the protocol" for m in self.methods() if m not in protocol.methods]

    def evaluate(self, rows: Sequence[dict], overall: Sequence[dict]) -> tuple[bool, str]:
        raise NotImplementedError


@dataclass(frozen=True)
class BeatsOnEverySet(Claim):
    """`winner` better than `loser` on every set both were measured on (strictly)."""

    winner: str = ""
    loser: str = ""
    metric: str = "auroc"
    table: Optional[str] = None

    def methods(self) -> tuple[str, ...]:
        return (self.winner, self.loser)

    def evaluate(self, rows, overall):
        a, b = (_values(rows, m, self.metric, self.table) for m in (self.winner, self.loser))
        common = [s for s in a if s in b]
        if not common:
            return False, f"no set has both {self.winner} and {self.loser}"
        failed = [f"{s}: {a[s]:.3f} vs {b[s]:.3f}" for s in common if not _better(self.metric, a[s], b[s], True)]
        if failed:
            return False, f"{self.winner} not above {self.loser} on " + "; ".join(failed)
        gap = min(abs(a[s] - b[s]) for s in common)
        return True, f"{self.winner} above {self.loser} on all {len(common)} sets (smallest gap {gap:.3f})"


@dataclass(frozen=True)
class MeanAtLeast(Claim):
    """`method`'s mean over sets at least each of `others`' mean (over the sets both have)."""

    method: str = ""
    others: tuple[str, ...] = ()
    metric: str = "auroc"
    table: Optional[str] = None

    def methods(self) -> tuple[str, ...]:
        return (self.method, *self.others)

    def evaluate(self, rows, overall):
        mine = _values(rows, self.method, self.metric, self.table)
        verdicts, holds = [], True
        for other in self.others:
            theirs = _values(rows, other, self.metric, self.table)
            common = [s for s in mine if s in theirs]
            if not common:
                return False, f"no set has both {self.method} and {other}"
            m, t = (sum(v[s] for s in common) / len(common) for v in (mine, theirs))
            ok = _better(self.metric, m, t, strict=False)
            holds &= ok
            verdicts.append(f"{'≥' if ok else '<'} {other} {t:.3f}")
        mean = sum(mine.values()) / max(len(mine), 1)
        return holds, f"{self.method} mean {mean:.3f} " + ", ".join(verdicts)


@dataclass(frozen=True)
class OverallAtLeast(Claim):
    """`method`'s overall value (all of a table's OOD sets together) at least `other`'s."""

    method: str = ""
    other: str = ""
    table: str = ""
    metric: str = "auroc"

    def methods(self) -> tuple[str, ...]:
        return (self.method, self.other)

    def problems(self, protocol) -> list[str]:
        tables = {t.name for t in protocol.tables}
        return super().problems(protocol) + ([] if self.table in tables else [f"no table {self.table!r}"])

    def evaluate(self, rows, overall):
        values = {r["method"]: r["ours"] for r in overall if r["table"] == self.table and r["metric"] == self.metric}
        if self.method not in values or self.other not in values:
            return False, f"{self.table} has no overall {self.metric} for both {self.method} and {self.other}"
        a, b = values[self.method], values[self.other]
        ok = _better(self.metric, a, b, strict=False)
        return ok, f"overall {self.metric}: {self.method} {a:.3f} {'≥' if ok else '<'} {self.other} {b:.3f}"


__all__ = ["BeatsOnEverySet", "Claim", "MeanAtLeast", "OverallAtLeast"]
