"""Property-based tests of the two user-facing parsers: suites (`--set key=value` and suite files) and
results records. Whatever the input, it either loads or is refused with a BenchError of one non-empty
line (what the CLI prints before exiting 2); never another exception, which would end in a traceback.

Each property tries up to EXAMPLES generated inputs plus its @example cases (found bugs, kept as
regressions). Failing inputs are saved in .hypothesis/ and replayed first on the next run.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.results.events import LOG_PREFIX, read_event_log
from googlenet_bench.harness.results.record import SCHEMA_VERSION, read_record
from googlenet_bench.harness.suites import SCHEMA, load_suite, parse_override
from record_fixtures import inner_paths

EXAMPLES = 200
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loads_or_one_line_error(call):
    """call()'s result, or None if it raised a BenchError of exactly one non-empty line; any other exception fails."""
    try:
        return call()
    except BenchError as exc:
        message = str(exc)
        assert message.strip(), "empty BenchError message"
        assert message.splitlines() == [message], f"multi-line BenchError: {message!r}"
        return None


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One directory for the whole module (hypothesis refuses function-scoped fixtures); files are overwritten."""
    return tmp_path_factory.mktemp("properties")


# --- strategies -----------------------------------------------------------------------------

# Python refuses int() and repr() of ints over 4,300 digits (ValueError), in YAML and JSON readers alike.
HUGE_DIGITS = st.integers(4_301, 4_400).map(lambda n: "9" * n)
# Hex ints are built without that limit, so only printing them fails: 3,600 hex digits > 4,300 decimal ones.
HUGE_HEX = st.integers(3_600, 3_700).map(lambda n: "0x" + "f" * n)
YAML_SPECIALS = st.sampled_from([
    "", " ", "=", "==", "a=b", "~", "null", "Null", "NULL", "true", "True", "yes", "no", "on", "off", "y",
    ".nan", ".NaN", ".inf", "-.inf", "+.inf", "nan", "inf", "1e400", "-1e400", "1e-400", "-0", "0", "007",
    "0x1F", "0o17", "0b101", "1_000", "1:30", "190:20:30", "2024-01-01", "2024-01-01T00:00:00Z",
    "[]", "{}", "[1, 2", "{a: 1", "[a, [b, {c: d}]]", "{a: {b: [1, {c: 2}]}}", "- a", "- a\n- b", "? a", ": b",
    "a: b", "/tmp/x: y", "&a 1", "*a", "&a [*a]", "&a [1] *a", "!!binary aGVsbG8=", "!!binary ÿ",
    "|", "|\n  text", ">", "'", "''", '"', '"\\x"', "'unterminated", "#", "# comment", "%YAML 1.1", "%TAG ! x",
    "---", "...", "--- 1\n--- 2", "@", "`", "\t", "\n", "\r", "\x00", "\x85", "\u2028", "\ufeff", "\udcff",
    "[MINDIR, ONNX]", "[MINDIR]", "auto", "O0", "O4", "cifar10_step", "fail", "skip",
])
YAML_TAGS = st.sampled_from([
    "!!python/object:os.system", "!!python/object/apply:os.system", "!!python/object/new:os.system",
    "!!python/name:os.system", "!!python/module:os", "!!python/tuple", "!!python/str",
    "!!int", "!!float", "!!bool", "!!null", "!!str", "!!timestamp", "!!binary", "!!set", "!!omap", "!!pairs",
    "!!map", "!!seq", "!!merge", "!!value", "!custom", "!", "!<tag:yaml.org,2002:int>",
])
KEYS = st.one_of(
    st.sampled_from(sorted(SCHEMA)),
    st.sampled_from(["", " ", "=", "epochs ", " epochs", "ep\nochs", "EPOCHS", "epoch", "batchsize", "a.b",
                     "epochs\x00", "épochs", "\u2028"]),
    st.text(max_size=15),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-2**200, 2**200), st.floats(),
                    st.text(max_size=20))
# Python values yaml.safe_dump can write: lists, nested mappings, non-string keys.
YAML_OBJECTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS | st.integers() | st.booleans(),
                                                                      children, max_size=4),
    max_leaves=12)


def yaml_flow(value) -> str:
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()


VALUE_TEXT = st.one_of(
    st.text(max_size=30),
    YAML_SPECIALS,
    HUGE_DIGITS, HUGE_DIGITS.map("-".__add__), HUGE_HEX, HUGE_HEX.map("-".__add__),
    st.builds("{} {}".format, YAML_TAGS, YAML_SPECIALS | st.text(max_size=10)),
    YAML_OBJECTS.map(yaml_flow),
    st.integers(1, 1_200).map(lambda n: "[" * n),  # PyYAML recurses twice per level: over ~500 is too deep
    st.lists(YAML_SPECIALS | YAML_TAGS, min_size=2, max_size=5).map(" ".join),
)
YAMLISH = "=:-[]{}!&*#|>'\"%@`,? \n\tab01.~"
OVERRIDES = st.one_of(st.builds("{}={}".format, KEYS, VALUE_TEXT), st.text(max_size=40),
                      st.text(alphabet=YAMLISH, max_size=40))


# --- --set key=value --------------------------------------------------------------------------

@pytest.mark.bad_input
@PROPERTY
@given(OVERRIDES)
@example("min_top1=abc")  # found: the type message read __name__ of the (int, float) tuple (AttributeError)
@example("epochs=" + "9" * 5_000)  # found: PyYAML's int() refuses 5,000 digits (ValueError)
@example("epochs=!!bool maybe")  # found: KeyError from PyYAML's bool constructor
@example("epochs=!!timestamp x")  # found: AttributeError from PyYAML's timestamp constructor
@example("epochs=" + "[" * 3_000)  # found: RecursionError in PyYAML's composer
def test_parse_override_gives_a_key_and_a_value_or_one_line(text):
    parsed = loads_or_one_line_error(lambda: parse_override(text))
    if parsed is not None:
        key, value = parsed
        assert key and key == key.strip()
        assert not isinstance(value, (dict, set))  # a mapping is kept as the plain string it was meant as


@pytest.mark.bad_input
@PROPERTY
@given(st.lists(OVERRIDES, max_size=3))
@example(["epochs=1\n2"])  # found: the raw --set text went into the message, newline and all
@example(["ep\nochs=3"])
@example(["epochs=-" + "0x" + "f" * 4_000])  # found: repr() of the int in the message raised ValueError
@example(["lr_decay_epochs=[1, -0x" + "f" * 4_000 + "]"])
@example(["momentum=.nan"])
@example(["label_smoothing=-.inf"])
@example(["epochs=\udcff"])
def test_set_overrides_load_or_fail_in_one_line(overrides):
    config = loads_or_one_line_error(lambda: load_suite("digits", overrides))
    if config is not None:
        assert set(config) == set(SCHEMA)


# --- suite names and files ------------------------------------------------------------------

@pytest.mark.bad_input
@PROPERTY
@given(st.one_of(st.text(max_size=40), KEYS, st.sampled_from(["digits", "digits.yaml", "suites/digits.yaml", ".yaml",
                                                             "/", "..", "../suites/digits", "a\x00.yaml", "~/x.yml"])))
def test_suite_names_load_or_fail_in_one_line(name):
    config = loads_or_one_line_error(lambda: load_suite(name))
    if config is not None:
        assert set(config) == set(SCHEMA)


def load_suite_file(scratch: Path, content: bytes | str, overrides=()):
    path = scratch / "fuzzed.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    return loads_or_one_line_error(lambda: load_suite(str(path), list(overrides)))


@pytest.mark.bad_input
@PROPERTY
@given(st.one_of(YAML_OBJECTS, st.dictionaries(KEYS, YAML_OBJECTS, max_size=6)))
def test_suite_files_of_random_yaml_values_load_or_fail_in_one_line(scratch, document):
    config = load_suite_file(scratch, yaml.safe_dump(document, allow_unicode=True))
    if config is not None:
        assert set(config) == set(SCHEMA)


DIGITS_SUITE = yaml.safe_load((Path(__file__).resolve().parent.parent / "suites" / "digits.yaml").read_text())


@pytest.mark.bad_input
@PROPERTY
@given(st.sampled_from(sorted(SCHEMA)), VALUE_TEXT, st.lists(OVERRIDES, max_size=2))
@example("epochs", "!!int x", [])  # found: ValueError from PyYAML's int constructor
@example("epochs", "-0x" + "f" * 4_000, [])  # found: repr() of the int in the message raised ValueError
@example("epochs", "[" * 3_000, [])  # found: RecursionError
def test_a_valid_suite_with_one_value_replaced_by_random_yaml_text(scratch, key, value_text, overrides):
    """The shipped digits suite with one key's value written as raw YAML text, then random --set overrides."""
    rest = {k: v for k, v in DIGITS_SUITE.items() if k != key}
    document = (yaml.safe_dump(rest) if rest else "") + f"{key}: {value_text}\n"
    config = load_suite_file(scratch, document, overrides)
    if config is not None:
        assert set(config) == set(SCHEMA)


@pytest.mark.bad_input
@PROPERTY
@given(st.sampled_from(sorted(DIGITS_SUITE)), st.one_of(st.integers(), st.booleans(), st.none(), st.floats(0, 1),
                                                         st.text(alphabet="abcXYZ019_", max_size=8)).map(json.dumps),
       st.booleans())
def test_a_suite_file_setting_any_key_twice_is_refused_naming_it(scratch, key, value_text, quoted):
    """The shipped digits suite with one of its keys set again at the end (quoted or not: the same key)."""
    again = json.dumps(key) if quoted else key
    document = yaml.safe_dump(DIGITS_SUITE, sort_keys=False, width=float("inf")) + f"{again}: {value_text}\n"
    first_line = list(DIGITS_SUITE).index(key) + 1  # safe_dump writes one line per key of this suite
    with pytest.raises(BenchError) as info:
        load_suite(str(load_suite_path(scratch, document)))
    assert str(info.value).endswith(f"sets {key!r} twice (lines {first_line} and {len(DIGITS_SUITE) + 1}): "
                                    "keep one of them")


def load_suite_path(scratch: Path, document: str) -> Path:
    path = scratch / "twice.yaml"
    path.write_text(document, encoding="utf-8")
    return path


@pytest.mark.bad_input
@PROPERTY
@given(st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    st.text(alphabet=YAMLISH, max_size=200),
    st.text(max_size=100).map(lambda t: t.encode("utf-16")),  # not UTF-8
    st.text(max_size=100).map(lambda t: t.encode("latin-1", "replace")),
))
@example(b"epochs: !!bool maybe\n")
@example(b"epochs: !!float x\n")
@example(b"? 0x" + b"f" * 4_000 + b"\n: 1\n")  # found: str() of a huge int key raised ValueError
@example(b"epochs: " + b"[" * 3_000)
@example(b"\xff\xfeepochs: 3\n")
@example(b"epochs: 3\x00\n")
@example(b"- 1\n- 2\n")
@example(b"")
def test_suite_files_of_arbitrary_bytes_load_or_fail_in_one_line(scratch, content):
    config = load_suite_file(scratch, content)
    if config is not None:
        assert set(config) == set(SCHEMA)


# --- results records --------------------------------------------------------------------------

class Raw(str):
    """JSON text written as is: json.dumps cannot write an int of over 4,300 digits or deep nesting cheaply."""


def to_json(value) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(to_json, value)) + "]"
    return json.dumps(value)  # NaN and Infinity are written bare, as Python's json reads them


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
              HUGE_DIGITS.map(Raw), st.integers(1, 1_200).map(lambda n: Raw("[" * n + "]" * n))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10)

# What bench.py writes, cut down: the checked keys plus nested figures, events and non-ASCII text
# (so byte-level truncation can split a UTF-8 character).
VALID_RECORD = {
    "schema": SCHEMA_VERSION, "run": "20240101-000000-digits-cpu", "suite": "digits", "backend": "cpu",
    "status": "success",
    "config": load_suite("digits"),
    "environment": {"mindspore": "2.10.0", "python": "3.11.9", "os": "Linux", "cpu_model": "AMD EPYC™ 9R14",
                    "cpu_cores": 2, "hostname": "bänch-01", "git": {"commit": "0" * 40, "dirty": False},
                    "device_context": {"ONEDNN_MAX_CPU_ISA": "AVX2"}},
    "figures": {"parameters": 6_000_000, "train": {"steps": 44, "ms_per_step_median": 271.5,
                                                        "loss_per_epoch": [2.3, 1.1]},
                "eval": {"top1": 0.93, "top5": 0.99, "images": 360}, "data": {"train": "digits (train, 1437 images)"}},
    "events": [{"time_ms": 1, "key": "run_start", "value": None}, {"time_ms": 2, "key": "status", "value": "success"}],
}
VALID_TEXT = json.dumps(VALID_RECORD, indent=2, ensure_ascii=False) + "\n"
CHECKED = (("figures", dict), ("config", dict), ("environment", dict), ("suite", str), ("backend", str))


def read_or_one_line_error(scratch: Path, content: bytes | str):
    path = scratch / "fuzzed.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    record = loads_or_one_line_error(lambda: read_record(path))
    if record is not None:  # what read_record promises its callers
        assert isinstance(record, dict)
        assert isinstance(record["schema"], int) and record["schema"] <= SCHEMA_VERSION
        for key, kind in CHECKED:
            assert isinstance(record[key], kind), key
    return record


@pytest.mark.bad_input
@PROPERTY
@given(st.integers(0, len(VALID_TEXT.encode())))
@example(len(VALID_TEXT.encode()))  # the whole record reads back
def test_truncated_records_are_refused_in_one_line(scratch, length):
    data = VALID_TEXT.encode()
    record = read_or_one_line_error(scratch, data[:length])
    if data[:length].strip() == data.strip():
        assert record == VALID_RECORD
    else:
        assert record is None, f"a record cut at byte {length} of {len(data)} was accepted"


@pytest.mark.bad_input
@PROPERTY
@given(JSON_VALUES)
@example(Raw("9" * 5_000))  # found: json.loads raises ValueError (not JSONDecodeError) for 5,000 digits
@example(Raw("[" * 100_000 + "]" * 100_000))  # found: json.loads raises RecursionError
@example({"schema": Raw("9" * 5_000), "figures": {}})
@example({"schema": 1, "figures": {}})
def test_random_json_values_as_records(scratch, value):
    read_or_one_line_error(scratch, to_json(value))


MUTABLE_PATHS = ["schema", "suite", "backend", "status", "config", "environment", "figures", "events", "run",
                 "figures.eval", "figures.eval.top1", "figures.train", "config.epochs", "environment.git"]
DELETE = object()


def mutated(record: dict, changes) -> dict:
    record = json.loads(json.dumps(record))
    for dotted, value in changes:
        *parents, leaf = dotted.split(".")
        target = record
        for key in parents:
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue  # an earlier change replaced the parent
        if value is DELETE:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return record


@pytest.mark.bad_input
@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(MUTABLE_PATHS), JSON_VALUES | st.just(DELETE)), min_size=1, max_size=3))
@example([("schema", True)])
@example([("schema", "1")])
@example([("schema", 1.0)])
@example([("schema", None)])
@example([("schema", Raw("9" * 5_000))])
@example([("figures", [])])
@example([("config", "digits")])
@example([("environment", None)])
@example([("suite", 1)])
@example([("backend", {"name": "cpu"})])
@example([("figures", DELETE)])
def test_valid_records_with_random_fields_replaced(scratch, changes):
    changed = mutated(VALID_RECORD, changes)
    record = read_or_one_line_error(scratch, to_json(changed))
    if any(not isinstance(changed.get(key), kind) for key, kind in CHECKED):
        assert record is None, f"{changes!r} was accepted"


@pytest.mark.bad_input
@PROPERTY
@given(st.one_of(st.binary(max_size=300), st.text(alphabet='{}[]":,0123456789.eE+-tnfalsrueNIiy \n\\', max_size=200),
                 st.integers(0, len(VALID_TEXT)).flatmap(
                     lambda n: st.binary(max_size=20).map(lambda junk: VALID_TEXT.encode()[:n] + junk))))
@example(b"\xef\xbb\xbf" + VALID_TEXT.encode())  # a UTF-8 byte-order mark
@example(b"\xff\xfe")
@example(b"")
@example(b"NaN")
@example(VALID_TEXT.encode() + b"\x00")
def test_arbitrary_bytes_as_records(scratch, content):
    read_or_one_line_error(scratch, content)


# --- the inside of a record: every reader copes with whatever read_record accepts ------------------

def full_record() -> dict:
    """The real digits record (tests/data) with every optional figure block a reader renders filled in."""
    from record_fixtures import make_record

    record = make_record(**{
        "figures.transfer": {"pretrained": "p.ckpt", "steps": 22, "top1_pretrained": 0.88, "top1_scratch": 0.47},
        "figures.resumed": {"from_checkpoint": "c/x-4_22.ckpt", "from_epoch": 4, "corrupt_checkpoints_skipped": []},
        "figures.ranks": {"per_rank": [{"rank": 0}], "parameters_identical": True, "ms_per_step_per_rank": [216.5]},
        "figures.infer.AIR": {"skipped": "backend 'cpu' cannot run AIR"},
        "figures.train.final_loss": "nan",  # what strict_json writes for a diverged loss
    })
    record["events"] = [{"time_ms": 1, "key": "run_start", "value": None, "metadata": {"rank": 0}},
                        {"time_ms": 2, "key": "status", "value": "success"}]
    return record


FULL_RECORD = full_record()


RECORD_PATHS = inner_paths(FULL_RECORD)


def changed_inside(document: dict, changes) -> dict:
    document = json.loads(json.dumps(document))
    for path, value in changes:
        *parents, leaf = path
        target = document
        for key in parents:
            target = target[key] if isinstance(target, (dict, list)) and _has(target, key) else None
        if not isinstance(target, (dict, list)) or not _has(target, leaf):
            continue  # an earlier change replaced a parent
        if value is DELETE:
            del target[leaf]
        else:
            target[leaf] = value
    return document


def _has(container, key) -> bool:
    return key in container if isinstance(container, dict) else isinstance(key, int) and key < len(container)


def every_reader(record: dict, path: Path) -> None:
    """What report, compare, check, baseline and history do with a record, in every output format."""
    from googlenet_bench.harness.reporting.check import DEFAULT_TOLERANCES, Tolerances, check, make_baseline
    from googlenet_bench.harness.reporting.compare import compare, render
    from googlenet_bench.harness.reporting.history import History, history_json, history_row
    from googlenet_bench.harness.reporting.report import run_summary, zoo_table

    zoo_table([record])
    run_summary(record)
    first = read_record(Path(__file__).resolve().parent / "data" / "digits-cpu-record.json")
    for records in ([first, record], [record, first]):
        comparison = compare(records, ["a.json", str(path)])
        for output_format in ("plain", "csv", "json"):  # the others differ only in tabulate's table style
            render(comparison, output_format)
    tolerances = Tolerances(**DEFAULT_TOLERANCES)
    for new, baseline in ((record, first), (first, record)):
        loads_or_one_line_error(lambda: check(new, baseline, tolerances, gate_speed=True))
    loads_or_one_line_error(lambda: make_baseline(record, tolerances, str(path)))
    history = History("digits", "cpu", [(path, first), (path, record)], [])
    for _, each in history.runs:
        history_row(each)
    json.dumps(history_json(history))


INNER_VALUES = JSON_VALUES | st.sampled_from(["nan", "inf", "-inf", "2026-11-27T10:07:13+00:00", "", "x", -1, 0,
                                               1.5, 2, True, None, [], {}])


@pytest.mark.bad_input
@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(RECORD_PATHS), INNER_VALUES | st.just(DELETE)), min_size=1, max_size=3))
@example([(("figures", "eval", "top1"), "0.97")])  # found (issue 10): report crashed on a string top-1
@example([(("figures", "train"), [1, 2])])  # found (issue 10): figures.train a list
@example([(("figures", "infer", "ONNX", "matches_eval"), "yes")])
@example([(("figures", "export", "MINDIR", "mb"), None)])
@example([(("started",), "yesterday")])
@example([(("config", "dataset"), ["digits"])])
@example([(("environment", "git", "commit"), 7)])
@example([(("run_id",), 3)])
@example([(("figures", "train", "ranks"), "2")])
@example([(("figures", "eval", "images"), 1.5)])
def test_every_reader_copes_with_any_record_read_record_accepts(scratch, changes):
    """A record changed anywhere inside (leaves and containers, through lists too) is either refused by
    read_record in one line or read, rendered, compared, gated and listed by every command without a crash."""
    path = scratch / "inner.json"
    path.write_text(to_json(changed_inside(FULL_RECORD, changes)), encoding="utf-8")
    record = loads_or_one_line_error(lambda: read_record(path))
    if record is not None:
        every_reader(record, path)


WRONG_VALUES = ("x", "nan", "", -1, 1.5, 10**20, True, None, [], [1], {}, {"a": 1}, DELETE)


@pytest.mark.bad_input
def test_every_reader_copes_with_each_value_anywhere_in_a_record(tmp_path):
    """Exhaustive where the property above samples: each path of the record in turn (186 of them) set to each
    of a set of wrong values, one at a time."""
    path = tmp_path / "inner.json"
    refused = 0
    for inner in RECORD_PATHS:
        for value in WRONG_VALUES:
            path.write_text(to_json(changed_inside(FULL_RECORD, [(inner, value)])), encoding="utf-8")
            record = loads_or_one_line_error(lambda: read_record(path))
            if record is None:
                refused += 1
            else:
                every_reader(record, path)
    assert 0 < refused < len(RECORD_PATHS) * len(WRONG_VALUES)  # both branches are exercised


@pytest.mark.bad_input
@pytest.mark.parametrize("path, value, message", [
    (("figures", "eval", "top1"), "0.97", "figures.eval.top1 must be a fraction from 0 to 1, got '0.97'"),
    (("figures", "train"), [], "figures.train must be a mapping, got a list"),
    (("figures", "train", "steps"), DELETE, "figures.train.steps is missing"),
    (("figures", "infer", "ONNX", "matches_eval"), "yes", "figures.infer.ONNX.matches_eval must be true or false"),
    (("figures", "export", "MINDIR"), 21.8, "figures.export.MINDIR must be a mapping, got 21.8"),
    (("environment", "git"), "HEAD", "environment.git must be a mapping"),
    (("started",), "yesterday", "started must be an ISO date and time, got 'yesterday'"),
    (("config", "epochs"), "8", "config: epochs must be int, got '8'"),
    (("config", "label_smoothing"), 2, "config: label_smoothing must be in [0, 1), got 2"),
    (("events", 0), "run_start", "events[0] must be a mapping"),
])
def test_a_record_wrong_inside_is_refused_naming_the_value(tmp_path, path, value, message):
    target = tmp_path / "record.json"
    target.write_text(to_json(changed_inside(FULL_RECORD, [(path, value)])), encoding="utf-8")
    with pytest.raises(BenchError) as info:
        read_record(target)
    assert str(info.value).startswith(f"results record {target} is malformed: ")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_non_finite_figures_read_back_as_floats(tmp_path):
    import math

    from googlenet_bench.harness.results.record import write_json_atomic

    path = write_json_atomic(tmp_path / "diverged.json", changed_inside(FULL_RECORD, [
        (("figures", "train", "final_loss"), math.inf)]))
    assert '"final_loss": "inf"' in path.read_text()  # JSON has no such numbers: strict_json wrote strings
    train = read_record(path)["figures"]["train"]
    assert train["final_loss"] == math.inf
    # A loss may diverge; a time may not be NaN (issue 24: `check --speed` called a NaN "no regression").
    path = write_json_atomic(tmp_path / "nan-speed.json", changed_inside(FULL_RECORD, [
        (("figures", "train", "ms_per_step_median"), math.nan)]))
    with pytest.raises(BenchError, match="ms_per_step_median must be a finite number above 0, got 'nan'"):
        read_record(path)


# --- run files (run.json): what --resume continues from ------------------------------------------

VALID_RUN_FILE = {"config": load_suite("digits"),
                  "options": {"suite": "digits", "backend": "cpu", "phases": ["setup", "train", "record"],
                              "pretrained": None}}
RUN_FILE_PATHS = inner_paths(VALID_RUN_FILE)


def read_run_file_or_one_line_error(scratch: Path, content: str):
    from googlenet_bench.harness.results.checkpoints import RUN_FILE, read_run_file
    from googlenet_bench.harness.suites import validate_config

    run_dir = scratch / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / RUN_FILE).write_text(content, encoding="utf-8", errors="surrogatepass")
    saved = loads_or_one_line_error(lambda: read_run_file(run_dir))
    if saved is not None:  # what the resumed run relies on
        assert set(saved["config"]) == set(SCHEMA)
        assert validate_config(saved["config"], "again", complete=True) == saved["config"]
        assert isinstance(saved["options"]["backend"], str)
    return saved


@pytest.mark.bad_input
@PROPERTY
@given(st.lists(st.tuples(st.sampled_from(RUN_FILE_PATHS), INNER_VALUES | st.just(DELETE)), min_size=1, max_size=3))
@example([(("config",), DELETE)])  # found (issue 10): --resume crashed on a run file without config
@example([(("config", "epochs"), 0)])  # found (issue 10): an out-of-range config was resumed
@example([(("options", "backend"), ["cpu"])])
@example([(("config", "epochz"), 3)])
def test_run_files_changed_inside_resume_or_fail_in_one_line(scratch, changes):
    read_run_file_or_one_line_error(scratch, to_json(changed_inside(VALID_RUN_FILE, changes)))


@pytest.mark.bad_input
@PROPERTY
@given(JSON_VALUES)
@example([VALID_RUN_FILE])  # found (issue 10): a run file that is a list
@example(Raw("[" * 5_000 + "]" * 5_000))
def test_run_files_of_any_json_resume_or_fail_in_one_line(scratch, value):
    read_run_file_or_one_line_error(scratch, to_json(value))


def test_a_run_file_of_an_older_harness_takes_defaults_for_keys_it_lacks(tmp_path):
    config = {key: value for key, value in VALID_RUN_FILE["config"].items() if key != "corrupt_images"}
    saved = read_run_file_or_one_line_error(tmp_path, json.dumps({**VALID_RUN_FILE, "config": config}))
    assert saved["config"]["corrupt_images"] == SCHEMA["corrupt_images"].default


# --- the event log a resumed run reads its earlier epochs from ---------------------------------------

def epoch_stop_line(epoch, loss=0.5, ms_per_step=210.0) -> str:
    return LOG_PREFIX + json.dumps({"time_ms": 1, "key": "epoch_stop", "value": epoch,
                                    "metadata": {"loss": loss, "ms_per_step": ms_per_step, "lr": 0.01}})


def test_the_event_log_reader_leaves_out_lines_that_are_not_whole_events(tmp_path):
    log = tmp_path / "events.log"
    good = [epoch_stop_line(1), epoch_stop_line(2, loss="nan"), LOG_PREFIX + '{"time_ms": 3, "key": "run_start"}']
    bad = [epoch_stop_line(3, loss="low"), epoch_stop_line("4"), LOG_PREFIX + "[1, 2]", "", "garbage",
           LOG_PREFIX + '{"key": "epoch_stop", "value": 5}', epoch_stop_line(6)[:40]]  # the last: torn by a kill
    log.write_text("\n".join(good[:2] + bad[:4] + good[2:] + bad[4:]))
    events = read_event_log(log)
    assert [(e["key"], e.get("value")) for e in events] == [("epoch_stop", 1), ("epoch_stop", 2), ("run_start", None)]
    assert math.isnan(events[1]["metadata"]["loss"])  # strict_json's "nan" reads back as a float
    assert read_event_log(tmp_path / "none.log") == []


@pytest.mark.fault
@PROPERTY
@given(st.lists(st.one_of(st.text(max_size=60), JSON_VALUES.map(lambda v: LOG_PREFIX + to_json(v)),
                          st.builds(epoch_stop_line, JSON_VALUES, JSON_VALUES, JSON_VALUES)), max_size=6),
       st.binary(max_size=40))
def test_the_event_log_reader_never_fails_and_gives_usable_epochs(scratch, lines, tail):
    log = scratch / "events.log"
    log.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + tail)
    for event in read_event_log(log):
        assert isinstance(event["key"], str)
        if event["key"] == "epoch_stop":
            meta = event["metadata"]
            assert isinstance(event["value"], int) and event["value"] >= 0
            assert isinstance(meta["loss"], (int, float)) and isinstance(meta["ms_per_step"], (int, float))
