import pytest

from googlenet_bench.harness.errors import BenchError
from googlenet_bench.harness.suites import SCHEMA, known_suites, load_suite, parse_override


def test_every_shipped_suite_loads_and_names_itself():
    for name in known_suites():
        config = load_suite(name)
        assert config["name"] == name
        assert set(config) == set(SCHEMA)


def test_cifar10_full_is_the_zoo_recipe():
    c = load_suite("cifar10-full")
    assert (c["batch_size"], c["epochs"], c["lr_init"], c["momentum"], c["weight_decay"]) == (128, 125, 0.1, 0.9, 5e-4)
    assert (c["image_size"], c["lr_schedule"], c["ckpt_every_epochs"], c["ckpt_keep"]) == (224, "cifar10_step", 5, 10)


def test_set_overrides_with_yaml_typed_values():
    c = load_suite("cifar10-full", ["epochs=1", "train_samples=512", "export_formats=[MINDIR]", "data=null"])
    assert c["epochs"] == 1 and c["train_samples"] == 512 and c["export_formats"] == ["MINDIR"] and c["data"] is None


@pytest.mark.bad_input
@pytest.mark.parametrize("override, message", [
    ("epoch=3", "unknown key 'epoch' (did you mean epochs?)"),
    ("epochs=three", "epochs must be int"),
    ("epochs=0", "epochs must be > 0"),
    ("batch_size=-4", "batch_size must be > 0"),
    ("epochs=true", "epochs must be int"),
    ("amp_level=O4", "amp_level must be one of auto, O0"),
    ("noequals", "write it as key=value"),
])
def test_bad_overrides_give_one_line(override, message):
    with pytest.raises(BenchError) as info:
        load_suite("digits", [override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_float_key_accepts_an_int():
    assert load_suite("digits", ["lr_init=1"])["lr_init"] == 1


@pytest.mark.bad_input
@pytest.mark.parametrize("name", ["../suites/digits", "suites/digits", "nope", "/etc/passwd"])
def test_suite_names_resolve_only_among_known_suites_or_yaml_files(name):
    with pytest.raises(BenchError, match="unknown suite"):
        load_suite(name)


@pytest.mark.bad_input
def test_explicit_suite_file_is_validated(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("dataset: digits\nimage_size: 32\nepochs: 2\n")
    assert load_suite(str(good))["name"] == "mine"
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(BenchError, match="not valid YAML"):
        load_suite(str(bad))
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(BenchError, match="must be a YAML mapping"):
        load_suite(str(listy))
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("batchsize: 3\n")
    with pytest.raises(BenchError, match="unknown key 'batchsize' .did you mean batch_size"):
        load_suite(str(unknown))


def test_parse_override_keeps_strings_that_are_not_yaml():
    assert parse_override("data=/tmp/x: y") == ("data", "/tmp/x: y")
