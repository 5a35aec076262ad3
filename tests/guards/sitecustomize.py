"""On PYTHONPATH for the processes that tests not marked slow start (tests/conftest.py): no training there."""
import no_training

no_training.install()
no_training.refusing = True
