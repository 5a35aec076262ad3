"""The plugin manager: loads backends from entry points and calls their hooks.

Built-in backends are registered exactly like third-party ones (the
``googlenet_bench.backends`` entry-point group in pyproject.toml), so adding a
backend is installing a package, never a core edit.
"""
from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any, Callable

import pluggy

from googlenet_bench.harness import defaults, hookspecs
from googlenet_bench.harness.errors import BenchError, did_you_mean
from googlenet_bench.harness.hookspecs import REQUIRED_HOOKS

ENTRY_POINT_GROUP = "googlenet_bench.backends"


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("googlenet_bench")
    pm.add_hookspecs(hookspecs)
    pm.register(defaults, name="defaults")
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


class Backends:
    """All loaded backends; `select(name)` gives the typed hook API of one."""

    def __init__(self, pm: pluggy.PluginManager | None = None):
        self.pm = pm or _new_manager()

    def names(self) -> list[str]:
        return sorted(name for name, _ in self._backend_plugins())

    def _backend_plugins(self) -> list[tuple[str, ModuleType]]:
        return [(name, plugin) for name, plugin in self.pm.list_name_plugin()
                if plugin is not defaults and name != "defaults"]

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        return sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])

    def select(self, name: str) -> "Backend":
        known = self.names()
        if name not in known:
            raise BenchError(f"unknown backend {name!r}{did_you_mean(name, known)}: choose one of {', '.join(known)} "
                             f"(installed plugins in entry-point group {ENTRY_POINT_GROUP})")
        missing = [hook for hook in REQUIRED_HOOKS if hook not in self.hooks_of(name)]
        if missing:
            raise BenchError(f"backend {name!r} does not implement the required hook(s) "
                             f"{', '.join(missing)}: see the README's plugin guide")
        others = [plugin for other, plugin in self._backend_plugins() if other != name]
        return Backend(name, lambda hook: self.pm.subset_hook_caller(hook, remove_plugins=others))


class Backend:
    """One backend's hooks as methods named after the specs (``backend.amp(config)`` calls
    ``bench_amp``), built from ``hookspecs.SPECS``, so the core never touches raw hook calls and a new
    hook needs no edit here. Arguments may be given by position, in the spec's order."""

    def __init__(self, name: str, caller: Callable[[str], Any]):
        self.name = name
        self._caller = caller

    def __getattr__(self, method: str):
        spec = hookspecs.SPECS.get(f"bench_{method}")
        if spec is None:
            raise AttributeError(f"{type(self).__name__} has no hook {method!r} (hookspecs.py defines the hooks)")
        parameters = list(inspect.signature(spec).parameters)

        def call(*args, **kwargs):
            kwargs.update(zip(parameters, args))
            answer = self._caller(spec.__name__)(**kwargs)
            return _merged(answer) if spec.merge else answer

        call.__name__, call.__doc__ = method, spec.__doc__
        return call

    def require_available(self) -> None:
        availability = self.available()
        if not availability.ok:
            raise BenchError(f"backend {self.name!r} is not usable here: {availability.reason}")


def _merged(answers: list[dict]) -> dict:
    """The answers of a merge hook, the chosen backend's over the core's defaults (which answer last)."""
    merged: dict = {}
    for extra in reversed(answers):
        merged.update(extra)
    return merged
