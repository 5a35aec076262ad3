"""googlenet-bench core: knows phases, suites and records, never a device."""
