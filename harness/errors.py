"""User-facing errors: one line naming what is wrong and how to fix it."""
import difflib


class BenchError(Exception):
    """A user mistake or an unusable input; the CLI prints it as one line and exits 2."""

    exit_code = 2


class RunFailed(Exception):
    """The run ended without a valid result (a rank died, the loss diverged, ...); exit 1.

    `status` is what the record says (googlenet_bench.harness.types.STATUSES). What was measured is not
    carried here: the run keeps it (googlenet_bench.harness.lifecycle.run)."""

    exit_code = 1

    def __init__(self, message: str, status: str = "failed"):
        super().__init__(message)
        self.status = status


def did_you_mean(word: str, choices) -> str:
    """' (did you mean X?)' for the close matches of a mistyped name, ignoring case (`CPU` -> cpu); else ''."""
    by_lower = {choice.lower(): choice for choice in choices}
    word = str(word).lower()
    matches = [word] if word in by_lower else difflib.get_close_matches(word, list(by_lower), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(by_lower[match] for match in matches)}?)" if matches else ""
