"""CondGAN, StyleGAN and StyleGAN2: generator + discriminator pairs built from a ModelConfig."""
from . import condgan, stylegan, stylegan2
from .config import ALIASES, MODELS, PRESETS, ModelConfig, preset, preset_name
from .condgan import add_embedding_row
from .stylegan2 import Discriminator


def build_models(cfg: ModelConfig, seed: int = 0):
    """(generator, discriminator) for cfg, initialised from seed."""
    generator = {"stylegan2": stylegan2.Generator, "stylegan": stylegan.Generator,
                 "condgan": condgan.Generator}[cfg.model](cfg, seed=seed)
    return generator, Discriminator(cfg, seed=seed + 1)


def add_writer(generator, discriminator) -> int:
    """Add one writer row to a writer-conditioned CondGAN pair; returns the new writer's id."""
    index = generator.add_writer()
    add_embedding_row(discriminator.writer_embed)
    discriminator.num_writers += 1
    return index


__all__ = ["ModelConfig", "PRESETS", "ALIASES", "MODELS", "preset", "preset_name", "build_models",
           "add_writer", "Discriminator"]
