"""Walks a suite's phases: set-up -> data -> train -> eval -> export -> infer -> record."""
from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness.errors import BenchError, RunFailed
from harness.launch import LaunchRequest, rank_from_env, supervise
from harness.plugins import Backend, Backends, RankInfo
from harness.record import SCHEMA_VERSION, EventLog, environment, write_json_atomic, write_record
from harness.suites import load_suite

PHASES = ("setup", "data", "train", "eval", "export", "infer", "record")
ALWAYS = ("setup", "record")
# With several ranks, every rank trains; rank 0 alone evaluates, exports and infers.
MAIN_RANK_ONLY = ("eval", "export", "infer")
RANK0_RECORD = "record.rank0.json"
EXTENSIONS = {"MINDIR": ".mindir", "ONNX": ".onnx", "AIR": ".air"}
MB = 1024 * 1024


@dataclass
class RunOptions:
    suite: str = "digits"
    backend: str = "cpu"
    overrides: list[str] = field(default_factory=list)
    data: str | None = None
    phases: list[str] | None = None
    checkpoint: str | None = None
    models: list[str] = field(default_factory=list)
    results_dir: Path = Path("results")
    run_id: str | None = None
    launch: LaunchRequest = LaunchRequest(ranks=1)
    resume: str | None = None  # a run directory to continue
    pretrained: str | None = None  # weights to start training from
    # Set in the processes a launcher starts: they run one rank of a run the parent owns.
    worker: bool = False
    worker_argv: list[str] = field(default_factory=list)


def parse_phases(names: list[str] | None) -> list[str]:
    if not names:
        return list(PHASES)
    wanted = [name.strip() for name in names if name.strip()]
    unknown = [name for name in wanted if name not in PHASES]
    if unknown:
        raise BenchError(f"--phases: unknown phase {unknown[0]!r}; choose from {','.join(PHASES)}")
    if any(name in wanted for name in ("train", "eval", "infer")):
        wanted.append("data")  # implied: they all read the data set
    return [name for name in PHASES if name in wanted or name in ALWAYS]


def format_of(path: Path) -> str:
    for file_format, extension in EXTENSIONS.items():
        if path.suffix.lower() == extension:
            return file_format
    raise BenchError(f"--model {path}: unknown format; expected a file ending in {', '.join(EXTENSIONS.values())}")


def mb(path: Path) -> float:
    return round(path.stat().st_size / MB, 2)


class Run:
    def __init__(self, options: RunOptions):
        self.options = options
        self.rank = rank_from_env() if options.worker else RankInfo()
        self.phases = parse_phases(options.phases)
        if options.resume:
            self._continue(Path(options.resume))
        self.backend: Backend = Backends().select(self.options.backend)
        if not options.resume:
            overridden = {text.partition("=")[0].strip() for text in options.overrides}
            device_defaults = [f"{key}={value}" for key, value in self.backend.config_defaults().items()
                               if key not in overridden]
            self.config = load_suite(options.suite, device_defaults + list(options.overrides))
        if options.data is not None:
            self.config["data"] = options.data
        self.figures: dict = {}
        self.net = None
        self.exports: dict[str, Path] = {}

    def _continue(self, run_dir: Path) -> None:
        """--resume: the run's own config and identity; the command line may only move its data."""
        from harness.checkpoints import read_run_file

        if self.options.overrides:
            raise BenchError("--resume continues a run as it was configured: leave out --set")
        saved = read_run_file(run_dir)
        self.config = saved["config"]
        self.options.backend = saved["options"]["backend"]
        self.options.pretrained = None  # its weights are in the checkpoint now
        self.options.run_id = run_dir.name
        self.options.results_dir = run_dir.parent

    # -- before anything starts: every user mistake is found here ----------
    def preflight(self) -> None:
        self.backend.require_available()
        supported = self.backend.supported_phases(self.config)
        refused = [phase for phase in self.phases if phase not in supported]
        if refused:
            raise BenchError(f"backend {self.backend.name!r} cannot run phase(s) {', '.join(refused)}: "
                             f"use --phases {','.join(p for p in self.phases if p in supported)}")
        needs_net = any(p in self.phases for p in ("eval", "export"))
        if needs_net and "train" not in self.phases and not self.options.checkpoint:
            raise BenchError("--phases without train needs --checkpoint FILE to eval or export")
        for flag, path in (("--checkpoint", self.options.checkpoint), ("--pretrained", self.options.pretrained)):
            if path and not Path(path).is_file():
                raise BenchError(f"{flag} {path}: no such file")
        if self.config["compare_scratch"] and not self.options.pretrained:
            raise BenchError("compare_scratch measures a pretrained start against a fresh one: pass --pretrained CKPT")
        if "infer" in self.phases and "export" not in self.phases and not self.options.models:
            raise BenchError("--phases infer without export needs --model FILE (an exported .mindir or .onnx)")
        for model in self.options.models:
            if not Path(model).is_file():
                raise BenchError(f"--model {model}: no such file")
            format_of(Path(model))
            from harness.exported import check_exported_model
            check_exported_model(model, self.config["image_size"])
        if any(p in self.phases for p in ("data", "train", "eval", "infer")):
            from datasets import validate_data

            validate_data(self.config)
        self.amp = self.backend.amp(self.config)
        self.formats = self._export_formats()
        results = self.options.results_dir
        try:
            results.mkdir(parents=True, exist_ok=True)
            probe = results / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise BenchError(f"results directory {results} is not writable ({exc.strerror}): "
                             "pass --results DIR") from None
        self._check_free_space(results)
        self.run_id = self.options.run_id or (
            f"{self.config['name']}-{self.backend.name}-"
            f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}")
        self.run_dir = results / self.run_id
        if self.options.launch.ranks > 1 and not self.options.worker:
            self.plan_launch()

    def _check_free_space(self, results: Path) -> None:
        """Refuse now, not after hours of training, when the results disk cannot hold what the run writes."""
        import shutil

        from model import count_parameters_of

        weights_mb = count_parameters_of(self.config["num_classes"]) * 4 / MB
        # Training checkpoints hold weights and momentum; plus final weights and the exports.
        needed_mb = weights_mb * (2 * self.config["ckpt_keep"] + 1 + len(self.formats)) if "train" in self.phases \
            else weights_mb * len(self.formats)
        free_mb = shutil.disk_usage(results).free / MB
        if free_mb < needed_mb:
            raise BenchError(f"results directory {results} has {free_mb:.0f} MB free but this run writes about "
                             f"{needed_mb:.0f} MB: free some space or pass --results DIR")

    def _export_formats(self) -> list[str]:
        supported = self.backend.export_formats(self.config)
        wanted = self.config["export_formats"]
        if wanted == "auto":
            return supported
        unsupported = [f for f in wanted if f not in supported]
        if unsupported:
            raise BenchError(f"backend {self.backend.name!r} cannot export {', '.join(unsupported)}; "
                             f"it writes {', '.join(supported)}: change export_formats")
        return list(wanted)

    # -- the run ------------------------------------------------------------
    def execute(self) -> Path:
        self.preflight()
        started = time.time()
        self.run_dir.mkdir(parents=True, exist_ok=self.options.worker or bool(self.options.resume))
        if not self.options.worker and not self.options.resume:
            from harness.checkpoints import save_run_file

            save_run_file(self.run_dir, self.config, {"suite": self.options.suite, "backend": self.backend.name,
                                                      "phases": self.phases, "pretrained": self.options.pretrained})
        self.record_path = self.options.results_dir / f"{self.run_id}.json"
        if self.options.worker:
            self.record_path = self.run_dir / RANK0_RECORD
            self.status_dir.mkdir(exist_ok=True)
            (self.status_dir / f"rank_{self.rank.rank}.pid").write_text(str(os.getpid()))
        self.events = EventLog(self.run_dir / ("events.log" if self.rank.is_main else f"events.rank{self.rank.rank}.log"))
        self.events.log("run_start", suite=self.config["name"], backend=self.backend.name, rank=self.rank.rank)
        status, error = "success", None
        try:
            if self.options.launch.ranks > 1 and not self.options.worker:
                self.launch_ranks()
            else:
                for phase in self.phases:
                    if phase == "record" or (phase in MAIN_RANK_ONLY and not self.rank.is_main):
                        continue
                    getattr(self, f"phase_{phase}")()
        except KeyboardInterrupt:
            status, error = "aborted", "interrupted (Ctrl-C)"
            raise
        except BenchError as exc:
            status, error = "failed", str(exc)
            raise
        except RunFailed as exc:
            status, error = self.figures.pop("status_override", "failed"), str(exc)
            raise
        except Exception as exc:
            status, error = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self.figures["total_s"] = round(time.time() - started, 2)
            self.events.log("run_stop", status=status)
            self.events.log("status", status)
            self._finish(status, error, started)
        return self.record_path

    @property
    def status_dir(self) -> Path:
        return self.run_dir / "ranks"

    def _finish(self, status: str, error: str | None, started: float) -> None:
        if self.options.worker:
            rank_figures = {"rank": self.rank.rank, "status": status, "error": error, **self.rank_figures()}
            write_json_atomic(self.status_dir / f"rank_{self.rank.rank}.json", rank_figures)
            if self.rank.is_main:
                self._write_record(status, error, started)
            if status == "success":
                (self.status_dir / f"rank_{self.rank.rank}.done").write_text("ok")
        else:
            self._write_record(status, error, started)

    def rank_figures(self) -> dict:
        train = self.figures.get("train") or {}
        return {"ms_per_step_median": train.get("ms_per_step_median"), "images_per_epoch": train.get("images_per_epoch"),
                "parameters_sha256": getattr(self, "parameters_digest", None),
                "first_batch_sha256": getattr(self, "first_batch_digest", None),
                "communication": getattr(self, "communication", None)}

    def plan_launch(self) -> None:
        """Ask the backend's launcher for the processes now, so a bad request fails before anything starts."""
        launch = self.options.launch
        launcher = self.backend.launcher(self.config, launch)
        worker_argv = [str(Path(__file__).resolve().parent.parent / "bench.py"), "--as-rank",
                       "--rank-of-run", self.run_id, "--results", str(self.options.results_dir), *self.options.worker_argv]
        self.processes = launcher.processes(worker_argv, launch, self.run_dir / "logs")
        self.launch_figures = {"launcher": launcher.name, "ranks": launch.ranks, "nodes": launch.node.nodes,
                               "node_rank": launch.node.node_rank, "commands": [" ".join(p.argv) for p in self.processes]}

    def launch_ranks(self) -> None:
        """The parent of a multi-rank run: start the ranks, watch them, merge what they report."""
        launch, processes = self.options.launch, self.processes
        self.figures["launch"] = self.launch_figures
        print(f"starting {launch.ranks} ranks with {self.launch_figures['launcher']}; logs in {self.run_dir / 'logs'}", file=sys.stderr)
        try:
            supervise(processes, self.status_dir)
        finally:
            self._merge_rank_reports()
        missing = [r for p in processes for r in p.ranks if not (self.status_dir / f"rank_{r}.done").exists()]
        if missing:
            rank = missing[0]
            log = next(p.rank_logs.get(rank, p.log) for p in processes if rank in p.ranks)
            raise RunFailed(f"rank {rank} did not finish; see its log {log}")

    def _merge_rank_reports(self) -> None:
        import json

        reports = []
        for path in sorted(self.status_dir.glob("rank_*.json"), key=lambda p: int(p.stem.split("_")[1])):
            reports.append(json.loads(path.read_text()))
        main_record = self.run_dir / RANK0_RECORD
        if main_record.exists():
            rank0 = json.loads(main_record.read_text())
            launch = self.figures.get("launch")
            self.figures = rank0["figures"]
            self.figures["launch"] = launch
            self.device_context = rank0["environment"].get("device_context", {})
            self.figures.pop("total_s", None)
        digests = {r.get("parameters_sha256") for r in reports}
        self.figures["ranks"] = {
            "per_rank": reports,
            "parameters_identical": len(reports) > 1 and len(digests) == 1 and None not in digests,
            "ms_per_step_per_rank": [r.get("ms_per_step_median") for r in reports],
        }

    def _write_record(self, status: str, error: str | None, started: float) -> None:
        env = environment()
        env["device"] = self.backend.describe()
        env["device_context"] = getattr(self, "device_context", {})
        env.update(self.backend.record_metadata(self.config))
        record = {
            "schema": SCHEMA_VERSION,
            "run_id": self.run_id,
            "status": status,
            "error": error,
            "suite": self.config["name"],
            "backend": self.backend.name,
            "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
            "phases": self.phases,
            "command": sys.argv,
            "environment": env,
            "config": self.config,
            "figures": self.figures,
            "events": self.events.events,
        }
        write_record(self.record_path, record)

    # -- phases ---------------------------------------------------------------
    def phase_setup(self) -> None:
        import mindspore as ms

        from model import GoogleNet, count_parameters

        ms.set_seed(self.config["seed"])
        self.device_context = self.backend.device_setup(self.config, self.rank)
        if self.rank.world_size > 1:
            self.communication = self.backend.distributed_init(self.config, self.rank)
            self.device_context["communication"] = self.communication
        self.dataset_options = self.backend.dataset_options(self.config)
        self.net = GoogleNet(self.config["num_classes"])
        self.figures["parameters"] = count_parameters(self.net)
        self.figures["amp_level"] = self.amp.level
        self.figures["loss_scale"] = self.amp.loss_scale
        from harness.checkpoints import load_pretrained

        if self.options.checkpoint:
            self.figures["loaded_checkpoint"] = load_pretrained(self.net, self.options.checkpoint, replace_head=False)
        if self.options.pretrained:
            self.figures["pretrained"] = load_pretrained(self.net, self.options.pretrained, self.config["transfer"])
        if self.config["freeze_backbone"]:
            from harness.checkpoints import freeze_backbone

            self.figures["trainable_parameters"] = freeze_backbone(self.net)

    def phase_data(self) -> None:
        from datasets import build_split

        workers = self.dataset_options.num_parallel_workers
        if "train" in self.phases:
            self.train_split = build_split(self.config, "train", rank=self.rank.rank,
                                           world_size=self.rank.world_size, num_parallel_workers=workers)
            if self.rank.world_size > 1:
                self.first_batch_digest = _first_batch_digest(
                    build_split(self.config, "train", rank=self.rank.rank, world_size=self.rank.world_size,
                                num_parallel_workers=workers).dataset)
        if self.rank.is_main:
            self.eval_split = build_split(self.config, "eval", num_parallel_workers=workers)
        splits = {name: getattr(self, f"{name}_split", None) for name in ("train", "eval")}
        self.figures["data"] = {name: split.source if split else None for name, split in splits.items()}
        self.figures["data"]["skipped_corrupt"] = {name: split.skipped for name, split in splits.items() if split}

    def _build_model(self, net, lrs):
        from mindspore.train import Model

        from harness.training import build_loss, build_optimizer

        optimizer = build_optimizer(self.config, net, lrs)
        amp_kwargs = {}
        if self.amp.keep_batchnorm_fp32 is not None:
            amp_kwargs["keep_batchnorm_fp32"] = self.amp.keep_batchnorm_fp32
        if self.amp.loss_scale_manager is not None:
            amp_kwargs["loss_scale_manager"] = self.amp.loss_scale_manager
        return Model(net, loss_fn=build_loss(self.config), optimizer=optimizer, amp_level=self.amp.level,
                     **amp_kwargs), optimizer

    def _resume_point(self, net, optimizer):
        """Load the newest valid checkpoint into the network and optimizer; returns the epochs already done."""
        import mindspore as ms

        from harness.checkpoints import newest_valid_checkpoint

        point = newest_valid_checkpoint(self.run_dir / "checkpoints")
        for problem in point.skipped:
            print(f"warning: {problem}; falling back to an older checkpoint", file=sys.stderr)
        ms.load_param_into_net(net, point.params)
        ms.load_param_into_net(optimizer, point.params)
        self.figures["resumed"] = {"from_checkpoint": str(point.path), "from_epoch": point.epoch,
                                   "corrupt_checkpoints_skipped": point.skipped}
        self.events.log("resume", point.epoch, checkpoint=str(point.path), skipped=len(point.skipped))
        print(f"resuming {self.run_id} from {point.path.name} (epoch {point.epoch})", file=sys.stderr)
        return point.epoch

    def _earlier_epochs(self, done_epochs: int) -> list:
        """The per-epoch figures of the interrupted part of a resumed run, from its event log."""
        from harness.record import read_event_log
        from harness.training import EpochFigures

        by_epoch = {}
        for event in read_event_log(self.run_dir / "events.log"):
            if event["key"] == "epoch_stop" and event["value"] <= done_epochs:
                meta = event["metadata"]
                by_epoch[event["value"]] = EpochFigures(event["value"], self.train_split.steps,
                                                        meta["ms_per_step"] * self.train_split.steps / 1000.0,
                                                        float(meta["loss"]), meta.get("lr"))
        return [by_epoch[e] for e in sorted(by_epoch)]

    def phase_train(self) -> None:
        import mindspore as ms
        from mindspore.train import CheckpointConfig, ModelCheckpoint

        from harness.schedules import learning_rates
        from harness import interrupts
        from harness.training import Progress, StopOnInterrupt, TrainTimer

        config, split = self.config, self.train_split
        lrs = learning_rates(config, split.steps)
        model, optimizer = self._build_model(self.net, lrs)
        done_epochs = self._resume_point(self.net, optimizer) if self.options.resume else 0

        progress = Progress(config["epochs"]) if self.rank.is_main else (lambda figures: None)

        def on_epoch(figures):
            self.events.log("epoch_stop", figures.epoch, loss=figures.loss, lr=figures.lr,
                            ms_per_step=round(figures.ms_per_step, 2))
            progress(figures)

        timer = TrainTimer(split.steps, on_epoch, learning_rates=lrs,
                           on_epoch_start=lambda epoch: self.events.log("epoch_start", epoch))
        prefix, checkpoint_dir = f"train_googlenet_{config['dataset']}", self.run_dir / "checkpoints"
        callbacks = [timer]
        if self.rank.is_main:
            checkpoint_config = CheckpointConfig(save_checkpoint_steps=config["ckpt_every_epochs"] * split.steps,
                                                 keep_checkpoint_max=config["ckpt_keep"], crc_check=True,
                                                 append_info=["epoch_num", "step_num"])
            callbacks.append(ModelCheckpoint(prefix=prefix, directory=str(checkpoint_dir), config=checkpoint_config))
        callbacks.append(StopOnInterrupt(checkpoint_dir, prefix, split.steps, save=self.rank.is_main))
        self.events.log("train_start", steps_per_epoch=split.steps, epochs=config["epochs"], from_epoch=done_epochs)
        start = time.perf_counter()
        try:
            if done_epochs < config["epochs"]:
                with interrupts.deferred():
                    model.train(config["epochs"], split.dataset, callbacks=callbacks,
                                dataset_sink_mode=self.dataset_options.sink_mode, initial_epoch=done_epochs)
        finally:
            self._train_figures(timer, optimizer, split, done_epochs, time.perf_counter() - start)
        self.parameters_digest = _parameters_digest(self.net)
        if timer.diverged_at_step is not None:
            self.figures["status_override"] = "diverged"
            self.figures["train"]["diverged_at_step"] = timer.diverged_at_step
            self.figures["train"]["last_good_checkpoint"] = self._drop_checkpoints_from(timer.epochs[-1].epoch)
            raise RunFailed(f"training diverged: the loss became {timer.epochs[-1].loss} by step "
                            f"{timer.diverged_at_step}; lower lr_init (--set lr_init=...)")
        if self.rank.is_main:
            weights = self.run_dir / "googlenet.ckpt"
            weights.unlink(missing_ok=True)
            ms.save_checkpoint(self.net, str(weights), crc_check=True)
            self.figures["weights"] = {"path": str(weights), "mb": mb(weights)}
            saved = sorted((self.run_dir / "checkpoints").glob("*.ckpt"), key=os.path.getmtime)
            if saved:
                self.figures["checkpoint"] = {"path": str(saved[-1]), "mb": mb(saved[-1]), "kept": len(saved)}

    def _train_figures(self, timer, optimizer, split, done_epochs: int, train_s: float) -> None:
        from harness.training import timing_summary

        epochs = (self._earlier_epochs(done_epochs) if done_epochs else []) + timer.epochs
        # Timing comes from this process's epochs only: a resumed run compiles again.
        summary = timing_summary(timer.epochs)
        global_batch = split.batch_size * self.rank.world_size
        median = summary.get("ms_per_step_median")
        self.figures["train"] = {
            "epochs": len(epochs),
            "steps_per_epoch": split.steps,
            "steps": len(epochs) * split.steps,
            "optimizer_steps": int(optimizer.global_step.asnumpy()[0]),
            "batch_size": split.batch_size,
            "global_batch": global_batch,
            "ranks": self.rank.world_size,
            "images_per_epoch": split.images,
            "final_loss": epochs[-1].loss if epochs else None,
            "loss_per_epoch": [round(e.loss, 6) for e in epochs],
            "lr_per_epoch": [e.lr for e in epochs],
            "ms_per_step_per_epoch": [round(e.ms_per_step, 2) for e in epochs],
            **summary,
            "images_per_s": round(global_batch * 1000.0 / median, 1) if median else None,
            "train_s": round(train_s, 2),
            "sink_mode": self.dataset_options.sink_mode,
        }

    def _drop_checkpoints_from(self, epoch: int) -> str | None:
        """Delete checkpoints saved at or after `epoch` (their weights are not finite); the newest left is named."""
        from harness.checkpoints import epoch_of

        kept = []
        for path in (self.run_dir / "checkpoints").glob("*.ckpt"):
            if epoch_of(path) >= epoch:
                path.unlink()
            else:
                kept.append(path)
        return str(max(kept, key=epoch_of)) if kept else None

    def phase_eval(self) -> None:
        import mindspore as ms

        from harness.training import score

        self.net.set_train(False)
        result = score(lambda images: self.net(ms.Tensor(images)).asnumpy(), self.eval_split.dataset,
                       self.config["num_classes"])
        self.figures["eval"] = {"top1": result.top1, "top5": result.top5, "images": result.images,
                                "correct_top1": result.correct_top1, "ms_per_batch": result.ms_per_batch,
                                "batch_size": self.eval_split.batch_size}
        self.events.log("eval_accuracy", result.top1, images=result.images)
        if self.config["compare_scratch"]:
            self._compare_with_scratch(result.top1)

    def _compare_with_scratch(self, pretrained_top1: float) -> None:
        """Train a fresh network for the same steps, so a pretrained start's benefit is measured, not claimed."""
        import mindspore as ms

        from datasets import build_split
        from harness.schedules import learning_rates
        from harness.training import score
        from model import GoogleNet

        print("training the same suite from scratch for comparison", file=sys.stderr)
        ms.set_seed(self.config["seed"])
        net = GoogleNet(self.config["num_classes"])
        split = build_split(self.config, "train", num_parallel_workers=self.dataset_options.num_parallel_workers)
        model, _ = self._build_model(net, learning_rates(self.config, split.steps))
        model.train(self.config["epochs"], split.dataset, dataset_sink_mode=self.dataset_options.sink_mode)
        net.set_train(False)
        scratch = score(lambda images: net(ms.Tensor(images)).asnumpy(), self.eval_split.dataset,
                        self.config["num_classes"])
        self.figures["transfer"] = {"pretrained": self.options.pretrained, "steps": split.steps * self.config["epochs"],
                                    "top1_pretrained": pretrained_top1, "top1_scratch": scratch.top1,
                                    "top1_gain": round(pretrained_top1 - scratch.top1, 6),
                                    "freeze_backbone": self.config["freeze_backbone"]}
        self.events.log("scratch_accuracy", scratch.top1)

    def phase_export(self) -> None:
        import mindspore as ms
        import numpy as np

        size = self.config["image_size"]
        batch = self.config["export_batch_size"] or self.config["eval_batch_size"] or self.config["batch_size"]
        example = ms.Tensor(np.ones((batch, 3, size, size), dtype=np.float32))
        self.net.set_train(False)
        self.figures["export"] = {}
        for file_format in self.formats:
            path = self.backend.export(self.net, example, file_format,
                                       self.run_dir / f"googlenet{EXTENSIONS[file_format]}")
            if path is None:
                raise BenchError(f"backend {self.backend.name!r} lists {file_format} but wrote nothing")
            self.exports[file_format] = Path(path)
            self.figures["export"][file_format] = {"path": str(path), "mb": mb(Path(path)), "batch_size": batch}

    def phase_infer(self) -> None:
        from harness.training import score

        targets = dict(self.exports)
        for model in self.options.models:
            targets[format_of(Path(model))] = Path(model)
        self.figures["infer"] = {}
        evaluated = self.figures.get("eval")
        for file_format, path in targets.items():
            predict = self.backend.predictor(path, file_format, self.config)
            if predict is None:
                self.figures["infer"][file_format] = {"skipped": f"backend {self.backend.name!r} cannot run {file_format}"}
                continue
            result = score(predict, self.eval_split.dataset, self.config["num_classes"])
            entry = {"path": str(path), "top1": result.top1, "top5": result.top5, "images": result.images,
                     "correct_top1": result.correct_top1, "ms_per_batch": result.ms_per_batch}
            if evaluated:
                entry["matches_eval"] = result.correct_top1 == evaluated["correct_top1"]
            self.figures["infer"][file_format] = entry
            self.events.log("infer_accuracy", result.top1, format=file_format)
        mismatched = [f for f, e in self.figures["infer"].items() if e.get("matches_eval") is False]
        if mismatched:
            raise RunFailed(f"inference from {', '.join(mismatched)} disagrees with eval's top-1: "
                            f"see figures.infer in the record")


def _parameters_digest(net) -> str:
    """One hash over the trainable parameters: equal across ranks iff data-parallel kept them in sync.
    (BatchNorm's moving statistics are left out: each rank computes them from its own shard.)"""
    import hashlib

    digest = hashlib.sha256()
    for param in sorted(net.trainable_params(), key=lambda param: param.name):
        name = param.name
        digest.update(name.encode())
        digest.update(param.asnumpy().tobytes())
    return digest.hexdigest()


def _first_batch_digest(dataset) -> str:
    """Hash of the first batch a rank's shard yields (a fresh pipeline with the run's seed)."""
    import hashlib

    images, labels = next(dataset.create_tuple_iterator(num_epochs=1, output_numpy=True))
    return hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
