"""A paper's protocol, declared: the ID data, the OOD sets standing in for the paper's, the methods,
the paper's numbers keyed by its table / row / column, the claims, and the scales it runs at.

    register(Protocol(
        seed="rose", source="003_d9448c708024b7c4.txt", paper="Robust OOD detection ...",
        sets=("digits", "noise"), methods=("rose", "nll"),
        tables=(PaperTable("Table 2", "auroc", columns={"rose": "ROSE", "nll": "NLL"},
                           rows={"digits": "MNIST", "noise": "Noise"},
                           paper={("rose", "digits"): 0.995, ("nll", "digits"): 0.161, ...}),),
        claims=(BeatsOnEverySet("rose", "nll"),),
        stand_ins={"digits": "MNIST: scikit-learn's handwritten digits"},
        scales={"smoke": Scale("smoke"), "cpu": Scale("quick", ...), "paper": Scale("full")}))

A protocol module sits beside its method family (methods/<family>_paper.py) and costs nothing
else: `ood-ext reproduce SEED` reads it from here. Names are checked against the method registry
and the OOD catalogue when a protocol runs (`check`), so a misspelt name fails before any work.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

from .claims import Claim

METRICS = ("auroc", "aupr_in", "aupr_out", "fpr95", "zero_acc", "else_acc", "osr_f1")
SCALES = ("smoke", "cpu", "paper")
# What every protocol's smoke scale says of itself.
SMOKE_NOTE = "Scale smoke: tiny models trained for seconds; it checks that the protocol runs, its numbers mean nothing."


@dataclass(frozen=True)
class PaperTable:
    """One of the paper's tables: `metric` for each (method, set) cell, its columns (our method →
    the paper's column label) and rows (our set → the paper's row label, the stand-in named in the
    protocol), the paper's values (None or missing: no cell for the stand-in), and the paper's
    "Overall" per column when it has one (the metric over all its rows' OOD images together)."""

    name: str
    metric: str
    columns: Mapping[str, str]
    rows: Mapping[str, str]
    paper: Mapping[tuple[str, str], Optional[float]] = field(default_factory=dict)
    overall: Mapping[str, Optional[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scale:
    """How big a run is: the benchmark profile it starts from (smoke, quick or full), its sizes
    (None: the profile's), replaced training settings per model kind ({kind: {field: value}}),
    images scored per set per method, and method options (MethodContext.option)."""

    profile: str
    sizes: Optional[Any] = None
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    images_per_set: Mapping[str, Optional[int]] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""  # where this scale differs from the paper, and why (shown in the report)

    def build(self, label: str):
        """The methods.Profile of this scale (its models cached under `label`)."""
        from ..methods import Profile, get_profile

        base = get_profile(self.profile)
        models = dict(base.models)
        for kind, changes in self.models.items():
            if kind not in models:
                raise ValueError(f"scale of {label}: unknown model kind {kind!r}")
            models[kind] = replace(models[kind], **changes)
        return Profile(base.name, self.sizes or base.sizes, models, label, dict(self.images_per_set),
                       dict(self.options))


@dataclass(frozen=True)
class Protocol:
    """A paper's experiment on our data (see the module docstring)."""

    seed: str  # the name `ood-ext reproduce` takes
    source: str  # the seed file in shared/seeds
    paper: str  # the paper's title
    sets: tuple[str, ...]  # OOD sets, catalogue names
    methods: tuple[str, ...]
    tables: tuple[PaperTable, ...]
    claims: tuple[Claim, ...]
    stand_ins: Mapping[str, str]  # our set → what it stands for in the paper, and why
    scales: Mapping[str, Scale]
    id: str = "fashion-mnist"
    # One run per split: the ID dataset's classes held out of it (None: all classes in-distribution),
    # each split's models trained on its known classes, its held-out classes one more OOD set
    # (`heldout-<names>`, a row when the tables name it). Several splits: leave-one-class-out over
    # several classes, or several open-set splits.
    splits: tuple[Optional[tuple[int, ...]], ...] = (None,)
    notes: tuple[str, ...] = ()  # where we differ from the paper, and why
    seconds_per_scale: Mapping[str, float] = field(default_factory=dict)  # the wall-time budget of a scale

    def check(self, methods: Mapping[str, Any], sets: Mapping[str, Any]) -> None:
        """ValueError naming every method, set, metric or scale this protocol refers to that does
        not exist (methods: the registry's; sets: the OOD catalogue's, plus `heldout-…`)."""
        problems = []
        known_set = lambda s: s in sets or s.startswith("heldout-")  # noqa: E731
        problems += [f"unknown method {m!r}" for m in self.methods if m not in methods]
        problems += [f"unknown OOD set {s!r}" for s in self.sets if not known_set(s)]
        problems += [f"unknown scale {s!r}" for s in self.scales if s not in SCALES]
        if not self.splits or len(set(self.splits)) != len(self.splits):
            problems.append(f"splits must be distinct and at least one, got {list(self.splits)}")
        if len(self.splits) > 1:  # a catalogue set would be scored once per split, against different ID data
            problems += [f"set {s!r}: with several splits only held-out sets (heldout-…) can be rows"
                         for s in self.sets if not s.startswith("heldout-")]
        for table in self.tables:
            if table.metric not in METRICS:
                problems.append(f"{table.name}: unknown metric {table.metric!r}")
            problems += [f"{table.name}: column {m!r} is not one of the protocol's methods" for m in table.columns
                         if m not in self.methods]
            problems += [f"{table.name}: row {s!r} is not one of the protocol's sets" for s in table.rows
                         if s not in self.sets]
            problems += [f"{table.name}: paper cell {key} outside its rows and columns" for key in table.paper
                         if key[0] not in table.columns or key[1] not in table.rows]
        for claim in self.claims:
            problems += [f"claim {claim.text!r}: {p}" for p in claim.problems(self)]
        if problems:
            raise ValueError(f"protocol {self.seed}: " + "; ".join(problems))


_PROTOCOLS: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    """Add a protocol (returned unchanged); its seed name must be new."""
    if protocol.seed in _PROTOCOLS:
        raise ValueError(f"protocol {protocol.seed!r} is already registered")
    _PROTOCOLS[protocol.seed] = protocol
    return protocol


def protocols() -> dict[str, Protocol]:
    """Every registered protocol by seed name (the method families' protocol modules register on
    import of ood_ext.methods)."""
    from .. import methods  # noqa: F401  (imports the protocol modules)

    return dict(_PROTOCOLS)


__all__ = ["METRICS", "SCALES", "SMOKE_NOTE", "PaperTable", "Protocol", "Scale", "protocols", "register"]
