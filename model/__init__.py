"""GoogleNet (Inception v1) as the MindSpore model zoo builds it."""
from googlenet_bench.model.googlenet import GoogleNet, count_parameters, count_parameters_of

__all__ = ["GoogleNet", "count_parameters", "count_parameters_of"]
