"""User-facing errors: one line naming what is wrong and how to fix it."""


class BenchError(Exception):
    """A user mistake or an unusable input; the CLI prints it as one line and exits 2."""

    exit_code = 2


class RunFailed(Exception):
    """The run ended without a valid result (a rank died, the loss diverged, ...); exit 1.

    `status` is what the record says (harness.types.STATUSES); `figures` are what was
    measured on the way, kept in the record."""

    exit_code = 1

    def __init__(self, message: str, status: str = "failed", figures: dict | None = None):
        super().__init__(message)
        self.status = status
        self.figures = figures or {}
