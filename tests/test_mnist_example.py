"""A real task end to end: an MLP trained with minigan on a real MNIST subset."""
import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mnist_classifier.py"


def _example():
    spec = importlib.util.spec_from_file_location("mnist_classifier", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlp_on_a_real_mnist_subset_reaches_94_percent(real_data):
    real_data("mnist.npz")  # skips with a reason when the data is absent
    result = _example().train("mlp", epochs=3, lr=3e-3, train_subset=10000, log=lambda s: None)
    assert result["test_accuracy"] >= 0.94, result
