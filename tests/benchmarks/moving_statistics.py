"""Whether a trained network's BatchNorm moving statistics, not its weights, are what its eval top-1 lacks.
The weights of each given googlenet.ckpt are scored (a) as saved, (b) with BatchNorm on the eval batches'
own statistics, (c) after re-estimating the moving statistics with forward passes over the training data.
The data and settings are the CIFAR-10 rehearsal test's (tests/test_rehearsal.py). Run (train lock held):
  .venv/bin/python tests/benchmarks/moving_statistics.py CIFAR_DIR results/<O0 run>/googlenet.ckpt results/<O2 run>/googlenet.ckpt"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import mindspore as ms  # noqa: E402

ms.set_context(mode=ms.GRAPH_MODE)
ms.set_device("CPU")
from googlenet_bench.datasets import build_split  # noqa: E402
from googlenet_bench.harness.suites import load_suite  # noqa: E402
from googlenet_bench.model import GoogleNet  # noqa: E402

config = load_suite("cifar10-full", [f"data={sys.argv[1]}", "image_size=32", "batch_size=64", "epochs=3",
                                     "train_samples=640", "eval_samples=128", "lr_init=0.02"])
evaluation, training = build_split(config, "eval"), build_split(config, "train")


def top1(net, batch_statistics: bool) -> float:
    net.set_train(batch_statistics)
    right = seen = 0
    for images, labels in evaluation.dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
        right += int((net(ms.Tensor(images)).asnumpy().argmax(1) == labels).sum())
        seen += len(labels)
    return right / seen


for path in sys.argv[2:]:
    net = GoogleNet(10)
    ms.load_param_into_net(net, ms.load_checkpoint(path))
    saved, batch = top1(net, False), top1(net, True)
    net.set_train(True)
    for _ in range(3):  # BatchNorm's moving averages (momentum 0.9) re-estimated, forward only
        for images, _labels in training.dataset.create_tuple_iterator(num_epochs=1, output_numpy=True):
            net(ms.Tensor(images))
    print(f"{path}: top-1 as saved {saved:.4f}, on batch statistics {batch:.4f}, "
          f"moving statistics re-estimated {top1(net, False):.4f}", flush=True)
