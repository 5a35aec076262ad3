"""googlenet-bench: a plugin-based, multi-backend benchmark harness for MindSpore's model-zoo GoogleNet.

The one import namespace of the project. In the repository its folders are `harness/` (the core),
`backends/` (the built-in plugins), `model/`, `datasets/` and `suites/`; installed, they are
`googlenet_bench.harness`, `googlenet_bench.backends`, and so on.

A backend plugin marks its hook implementations with `@googlenet_bench.hookimpl`.
"""
from googlenet_bench.harness.hookspecs import hookimpl

__all__ = ["hookimpl"]
