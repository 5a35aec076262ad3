"""User-facing errors: one line naming what is wrong and how to fix it; exit 2."""


class BenchError(Exception):
    """A user mistake or an unusable input; the CLI prints it as one line and exits 2."""

    exit_code = 2


class RunFailed(Exception):
    """The run itself failed (a rank died, the loss diverged); exit 1."""

    exit_code = 1
