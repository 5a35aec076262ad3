"""The plugin manager: loads backends from entry points and calls their hooks.

Built-in backends are registered exactly like third-party ones (the
``googlenet_bench.backends`` entry-point group in pyproject.toml), so adding a
backend is installing a package, never a core edit.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import pluggy

from googlenet_bench.harness import defaults, hookspecs
from googlenet_bench.harness.errors import BenchError, did_you_mean
from googlenet_bench.harness.types import AmpSettings, Availability, DatasetOptions, RankInfo

ENTRY_POINT_GROUP = "googlenet_bench.backends"
REQUIRED_HOOKS = ("bench_describe", "bench_available", "bench_device_setup")


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
    """One backend's hooks as typed methods, so the core never touches raw hook calls."""

    def __init__(self, name: str, caller: Callable[[str], Any]):
        self.name = name
        self._caller = caller

    def _call(self, hook: str, **kwargs):
        return self._caller(hook)(**kwargs)

    def describe(self) -> str:
        return self._call("bench_describe")

    def available(self) -> Availability:
        return self._call("bench_available")

    def require_available(self) -> None:
        availability = self.available()
        if not availability.ok:
            raise BenchError(f"backend {self.name!r} is not usable here: {availability.reason}")

    def device_setup(self, config: dict, rank: RankInfo) -> dict:
        return self._call("bench_device_setup", config=config, rank=rank) or {}

    def config_defaults(self) -> dict:
        return dict(self._call("bench_config_defaults") or {})

    def supported_phases(self, config: dict) -> list[str]:
        return list(self._call("bench_supported_phases", config=config))

    def launcher(self, config: dict, launch):
        return self._call("bench_launcher", config=config, launch=launch)

    def rank_capacity(self, config: dict) -> int | None:
        return self._call("bench_rank_capacity", config=config)

    def distributed_init(self, config: dict, rank: RankInfo) -> str:
        return self._call("bench_distributed_init", config=config, rank=rank)

    def amp(self, config: dict) -> AmpSettings:
        return self._call("bench_amp", config=config)

    def jit_level(self, config: dict) -> str | None:
        return self._call("bench_jit_level", config=config)

    def rehearse(self, recipe, config: dict):
        return self._call("bench_rehearse", recipe=recipe, config=config)

    def dataset_options(self, config: dict) -> DatasetOptions:
        return self._call("bench_dataset_options", config=config)

    def export_formats(self, config: dict) -> list[str]:
        return list(self._call("bench_export_formats", config=config))

    def export(self, net, example_input, file_format: str, path):
        return self._call("bench_export", net=net, example_input=example_input,
                          file_format=file_format, path=path)

    def predictor(self, path, file_format: str, config: dict):
        return self._call("bench_predictor", path=path, file_format=file_format, config=config)

    def record_metadata(self, config: dict) -> dict:
        merged: dict = {}
        for extra in reversed(self._call("bench_record_metadata", config=config)):
            merged.update(extra)
        return merged
