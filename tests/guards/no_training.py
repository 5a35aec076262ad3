"""MindSpore's `Model.train` refuses while `refusing` is set: tests/conftest.py sets it for the tests
not marked slow, in the test process and (through sitecustomize.py on PYTHONPATH) in every Python
they start, so a test that trains without being marked slow fails, naming why."""
import importlib.abc
import importlib.util
import sys

MESSAGE = "a test not marked slow started a training: mark it @pytest.mark.slow, or make it not train"
refusing = False


class RefuseTraining(importlib.abc.MetaPathFinder):
    """Wraps mindspore.train.model.Model.train as soon as that module has run."""

    def find_spec(self, name, path, target=None):
        if name != "mindspore.train.model":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            train = module.Model.train

            def guarded_train(*args, **kwargs):
                if refusing:
                    raise RuntimeError(MESSAGE)
                return train(*args, **kwargs)

            module.Model.train = guarded_train

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    if not any(isinstance(finder, RefuseTraining) for finder in sys.meta_path) and "mindspore.train.model" not in sys.modules:
        sys.meta_path.insert(0, RefuseTraining())
