"""The registered method families, and lookups of their model kinds and methods by name."""

from .spec import Family, Method, ModelKind

_FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add a family (returned unchanged). Its kind and method names must be new, and every
    model kind its methods use must be its own or an already registered family's."""
    if family.name in _FAMILIES:
        raise ValueError(f"method family {family.name!r} is already registered")
    known_kinds, known_methods = kinds(), methods()
    for kind in family.kinds:
        if kind.name in known_kinds:
            raise ValueError(f"{family.name}: model kind {kind.name!r} is already registered")
        unknown = [k for k in kind.uses if k not in known_kinds]
        if unknown:
            raise ValueError(f"{family.name}: model kind {kind.name!r} uses unknown (or later) kinds {unknown}")
        known_kinds[kind.name] = kind
    for method in family.methods:
        if method.name in known_methods:
            raise ValueError(f"{family.name}: method {method.name!r} is already registered")
        missing = [k for k in method.models if k not in known_kinds]
        if missing or not method.models:
            raise ValueError(f"{family.name}: method {method.name!r} needs unknown model kinds {missing or '(none)'}")
        known_methods[method.name] = method
    _FAMILIES[family.name] = family
    return family


def unregister(name: str) -> None:
    """Remove a family (for tests and plug-ins); its kinds and methods go with it."""
    if name not in _FAMILIES:
        raise KeyError(f"no method family {name!r}")
    users = [m.name for f in _FAMILIES.values() if f.name != name for m in f.methods
             if set(m.models) & {k.name for k in _FAMILIES[name].kinds}]
    if users:
        raise ValueError(f"cannot remove {name!r}: methods {users} of other families use its model kinds")
    del _FAMILIES[name]


def families() -> dict[str, Family]:
    return dict(_FAMILIES)


def kinds() -> dict[str, ModelKind]:
    """Every registered model kind by name."""
    return {k.name: k for f in _FAMILIES.values() for k in f.kinds}


def methods() -> dict[str, Method]:
    """Every registered method by name, in registration order."""
    return {m.name: m for f in _FAMILIES.values() for m in f.methods}


def family_of(method: str) -> Family:
    return next(f for f in _FAMILIES.values() if any(m.name == method for m in f.methods))


def required_kinds(method_names) -> list[str]:
    """The model kinds the given methods need, each after the kinds it uses."""
    order: list[str] = []
    known = kinds()

    def visit(name: str) -> None:
        for used in known[name].uses:
            visit(used)
        if name not in order:
            order.append(name)

    for method in method_names:
        for kind in methods()[method].models:
            visit(kind)
    return order


def default_methods() -> list[str]:
    """The methods of the default `ood-ext benchmark` run."""
    return [name for name, m in methods().items() if m.default]
