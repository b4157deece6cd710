"""Measuring generated handwriting: FID/KID, conditional accuracy, writer fidelity and the judge.

    from minigan.metrics import load_net, fid, kid, conditional_accuracy, writer_fidelity
    digits = load_net("digits")                        # shipped MNIST classifier
    f_real = digits.features(real_uint8)               # [N, 128]
    f_fake = digits.features(to_glyphs(G(z, labels)))  # generator output [-1, 1] -> uint8 28x28
    fid(f_real, f_fake), kid(f_real, f_fake)

The feature networks are small and trained with minigan itself (examples/train_feature_nets.py);
their weights ship in minigan/weights with the accuracies they reached (`load_net(name).meta`).
`python -m minigan.evaluate --help` runs it all on a training checkpoint. Whether a drawing is
in a given writer's hand is measured by the judge (`load_judge`, minigan.metrics.judge,
docs/judge.md).
"""
import numpy as np

from .features import NETS, FeatureNet, GlyphNet, classifier_accuracy, fold_case, load_net, standardize
from .fid import fid, frechet_distance, kid, sqrtm_psd
from .glyphs import at_resolution, to_glyphs
from .judge import Judge, held_back, judge_protocol, load_judge
from .spread import class_spread
from .writer import centroid_ranks, writer_embedding, writer_fidelity, writer_identification


def conditional_accuracy(images: np.ndarray, requested: str, net: FeatureNet | None = None) -> dict:
    """Share of class-conditional samples that the classifier reads as the requested character.

    images uint8 [N, 28, 28]; `requested` holds the N characters asked for. The classifier
    defaults to "digits" when every request is a digit, else "chars". Returns
    {"accuracy", "accuracy_casefold" (chars only), "n"}.
    """
    if net is None:
        net = load_net("digits" if set(requested) <= set("0123456789") else "chars")
    return classifier_accuracy(net, images, requested)


__all__ = ["NETS", "FeatureNet", "GlyphNet", "load_net", "standardize", "classifier_accuracy",
           "fold_case", "conditional_accuracy", "fid", "kid", "frechet_distance", "sqrtm_psd",
           "to_glyphs", "at_resolution", "class_spread", "writer_embedding", "writer_identification",
           "writer_fidelity", "centroid_ranks", "Judge", "load_judge", "held_back", "judge_protocol"]
