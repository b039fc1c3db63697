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
    """`winner` better than `loser` on every set both were measured on (strictly); only on `sets`
    when given."""

    winner: str = ""
    loser: str = ""
    metric: str = "auroc"
    table: Optional[str] = None
    sets: tuple[str, ...] = ()

    def methods(self) -> tuple[str, ...]:
        return (self.winner, self.loser)

    def problems(self, protocol) -> list[str]:
        return super().problems(protocol) + [f"set {s!r} is not one of the protocol's sets" for s in self.sets
                                             if s not in protocol.sets]

    def evaluate(self, rows, overall):
        a, b = (_values(rows, m, self.metric, self.table) for m in (self.winner, self.loser))
        common = [s for s in a if s in b and (not self.sets or s in self.sets)]
        if not common:
            return False, f"no set has both {self.winner} and {self.loser}"
        failed = [f"{s}: {a[s]:.3f} vs {b[s]:.3f}" for s in common if not _better(self.metric, a[s], b[s], True)]
        if failed:
            return False, f"{self.winner} not above {self.loser} on " + "; ".join(failed)
        gap = min(abs(a[s] - b[s]) for s in common)
        return True, f"{self.winner} above {self.loser} on all {len(common)} sets (smallest gap {gap:.3f})"


@dataclass(frozen=True)
class MeanAtLeast(Claim):
    """`method`'s mean over sets at least (`strict`: above) each of `others`' mean (over the sets
    both have)."""

    method: str = ""
    others: tuple[str, ...] = ()
    metric: str = "auroc"
    table: Optional[str] = None
    strict: bool = False

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
            ok = _better(self.metric, m, t, strict=self.strict)
            holds &= ok
            verdicts.append(f"{('>' if self.strict else '≥') if ok else ('≤' if self.strict else '<')} {other} {t:.3f}")
        mean = sum(mine.values()) / max(len(mine), 1)
        return holds, f"{self.method} mean {mean:.3f} " + ", ".join(verdicts)


@dataclass(frozen=True)
class MeanReaches(Claim):
    """`method`'s mean `metric` over a table's sets reaches `value` (at least; at most for fpr95)."""

    method: str = ""
    value: float = 0.0
    metric: str = "auroc"
    table: Optional[str] = None

    def methods(self) -> tuple[str, ...]:
        return (self.method,)

    def evaluate(self, rows, overall):
        mine = _values(rows, self.method, self.metric, self.table)
        if not mine:
            return False, f"no {self.metric} of {self.method}"
        mean = sum(mine.values()) / len(mine)
        ok = _better(self.metric, mean, self.value, strict=False)
        return ok, f"{self.method} mean {mean:.3f} over {len(mine)} sets {'reaches' if ok else 'misses'} {self.value:.3f}"


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


def _mean(values: dict[str, float], sets: Sequence[str]) -> float:
    return sum(values[s] for s in sets) / len(sets)


@dataclass(frozen=True)
class BestAboveWithin(Claim):
    """The best of `candidates` (highest mean `metric` over the sets all were measured on) strictly
    above `other` on that mean, with its mean `guard` metric within `tolerance` of `other`'s
    (e.g. more OOD recall at the same ID acceptance)."""

    candidates: tuple[str, ...] = ()
    other: str = ""
    metric: str = "zero_acc"
    guard: str = "else_acc"
    tolerance: float = 0.01

    def methods(self) -> tuple[str, ...]:
        return (*self.candidates, self.other)

    def evaluate(self, rows, overall):
        values = {m: _values(rows, m, self.metric, None) for m in self.methods()}
        guards = {m: _values(rows, m, self.guard, None) for m in self.methods()}
        sets = [s for s in values[self.other] if all(s in values[m] and s in guards[m] for m in self.methods())]
        if not sets:
            return False, f"no set has {self.metric} and {self.guard} for every one of {', '.join(self.methods())}"
        best = max(self.candidates, key=lambda m: _mean(values[m], sets))
        a, b = _mean(values[best], sets), _mean(values[self.other], sets)
        ga, gb = _mean(guards[best], sets), _mean(guards[self.other], sets)
        above, close = _better(self.metric, a, b, True), abs(ga - gb) <= self.tolerance
        return above and close, (f"best {best}: {self.metric} {a:.3f} {'>' if above else '≤'} {self.other} {b:.3f}; "
                                 f"{self.guard} {ga:.3f} vs {gb:.3f} ({'within' if close else 'beyond'} "
                                 f"{self.tolerance:.3f}), means over {len(sets)} sets")


__all__ = ["BeatsOnEverySet", "BestAboveWithin", "Claim", "MeanAtLeast", "MeanReaches", "OverallAtLeast"]
