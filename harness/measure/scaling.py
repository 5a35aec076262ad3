"""Scaling of an N-rank run: throughput per rank and in all, and its efficiency against a reference
record. The one owner of the efficiency formula: `bench.py compare` uses it too."""
from __future__ import annotations

from dataclasses import dataclass

from googlenet_bench.harness.errors import BenchError


def efficiency(reference_ms_per_step: float | None, ms_per_step: float | None) -> float | None:
    """Weak scaling (the same batch per rank, as the zoo compares 1 with 8 devices): the images/s of
    N ranks over N times the reference's per-rank images/s, which is reference ms/step over ms/step."""
    if not reference_ms_per_step or not ms_per_step:
        return None
    return reference_ms_per_step / ms_per_step


@dataclass(frozen=True)
class Reference:
    """The figures of the record given with --scaling-reference."""

    path: str
    run_id: str | None
    ranks: int
    ms_per_step: float


def read_reference(path: str, config: dict, ranks: int) -> Reference:
    """The reference record, checked now: a 1-rank run of the same suite, image size and batch per rank."""
    from googlenet_bench.harness.results.figures import headline, per_rank_batch
    from googlenet_bench.harness.results.figures import ranks as ranks_of
    from googlenet_bench.harness.results.record import read_record

    if ranks < 2:
        raise BenchError("--scaling-reference measures a multi-rank run against a 1-rank record: "
                         "use it with --ranks 2 or more")
    record = read_record(path)
    ran = ranks_of(record)
    if ran != 1:
        raise BenchError(f"--scaling-reference {path} is a {ran}-rank run: give the record of a 1-rank run")
    ours = (config["name"], config["image_size"], config["batch_size"])
    theirs = (record["suite"], record["config"].get("image_size"), per_rank_batch(record))
    if ours != theirs:
        raise BenchError(f"--scaling-reference {path} ran suite {theirs[0]} at {theirs[1]} px, batch {theirs[2]}; "
                         f"this run is {ours[0]} at {ours[1]} px, batch {ours[2]} per rank: give a record of the same")
    ms = headline(record).ms_per_step
    if ms is None:
        raise BenchError(f"--scaling-reference {path} has no ms/step (it did not train): give a record that did")
    return Reference(path=str(path), run_id=record.get("run_id"), ranks=ran, ms_per_step=ms)


def scaling_figures(train: dict, every_rank: list[dict], reference: Reference | None) -> dict:
    """figures.scaling of an N-rank record: each rank's ms/step and images/s (its batch over its own
    step time), their sum, and the efficiency of rank 0's median step against the reference's."""
    batch = train.get("batch_size")
    per_rank_ms = [entry.get("ms_per_step_median") for entry in every_rank]
    per_rank_images = [round(batch * 1000.0 / ms, 1) if batch and ms else None for ms in per_rank_ms]
    figures = {"ranks": len(every_rank), "batch_per_rank": batch, "ms_per_step_per_rank": per_rank_ms,
               "images_per_s_per_rank": per_rank_images,
               "images_per_s": round(sum(per_rank_images), 1) if per_rank_images and None not in per_rank_images
               else None}
    if reference is not None:
        value = efficiency(reference.ms_per_step, train.get("ms_per_step_median"))
        figures.update(reference={"path": reference.path, "run_id": reference.run_id,
                                  "ms_per_step": reference.ms_per_step},
                       efficiency=None if value is None else round(value, 4))
    return figures
