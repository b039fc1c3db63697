"""Method families, one spec module each, registered on import (see spec.py for the contract).

Every module of this package other than the machinery (spec, registry, profiles) is a built-in
family and is imported here: classifier baselines (classifier.py), MSMA / RotNCSN (msma.py), ROSE
and the likelihood baselines (rose.py). A family defined elsewhere registers itself with
`register`.
"""

import importlib
import pkgutil

from .profiles import Profile, Sizes, get_profile
from .registry import default_methods, families, family_of, kinds, methods, register, required_kinds, unregister
from .spec import PROFILES, Family, Method, MethodContext, ModelKind, PerProfile, TrainJob

_MACHINERY = {"spec", "registry", "profiles"}
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _MACHINERY:
        importlib.import_module(f".{_module}", __name__)

__all__ = ["PROFILES", "Family", "Method", "MethodContext", "ModelKind", "PerProfile", "Profile", "Sizes",
           "TrainJob", "default_methods", "families", "family_of", "get_profile", "kinds", "methods", "register",
           "required_kinds", "unregister"]
