"""Model configurations and named presets.

One dataclass covers the three model families; fields a family does not use are ignored.
A config round-trips through a plain dict, which is how checkpoints store it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from ..errors import UserError

MODELS = ("condgan", "stylegan", "stylegan2")
CONDITIONING = ("none", "embed", "content")


def _channels(res: int, base: dict) -> dict[int, int]:
    return {r: c for r, c in base.items() if r <= res}


@dataclass
class ModelConfig:
    model: str = "stylegan2"
    res: int = 16                      # output resolution, 16 or 32
    z_dim: int = 128
    w_dim: int = 128                   # 256, 128 or 64
    mapping_layers: int = 4
    num_classes: int = 0               # characters the model is conditioned on (0: none)
    num_writers: int = 0               # CondGAN only: writer one-hot rows
    conditioning: str = "content"      # style models: none | embed | content
    g_channels: dict = field(default_factory=lambda: {4: 128, 8: 128, 16: 64, 32: 32})
    d_channels: dict = field(default_factory=lambda: {32: 32, 16: 64, 8: 128, 4: 128})
    mbstd_group: int = 4
    charset: str = ""                  # the characters behind class indices, for people
    base_classes: int = 0              # classes from this one on were taught by train --extend

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}")
        if self.res not in (16, 32):
            raise ValueError(f"res must be 16 or 32, got {self.res}")
        if self.w_dim <= 0 or self.z_dim <= 0:
            raise ValueError("z_dim and w_dim must be positive")
        if self.conditioning not in CONDITIONING:
            raise ValueError(f"conditioning must be one of {CONDITIONING}")
        # JSON turns int keys into strings; turn them back.
        self.g_channels = {int(k): int(v) for k, v in self.g_channels.items()}
        self.d_channels = {int(k): int(v) for k, v in self.d_channels.items()}
        for r in _resolutions(self.res):
            if r not in self.g_channels or r not in self.d_channels:
                raise ValueError(f"channels are missing for resolution {r}")

    def check_classes(self) -> None:
        """A conditioned model needs to know how many classes it is conditioned on."""
        if self.model != "condgan" and self.conditioning != "none" and self.num_classes < 1:
            raise ValueError(f"conditioning {self.conditioning!r} needs num_classes >= 1")

    @property
    def num_ws(self) -> int:
        """Style inputs: two per resolution from 4x4 up (6 at 16x16, 8 at 32x32)."""
        return 2 * len(_resolutions(self.res))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def replace(self, **changes) -> "ModelConfig":
        return replace(self, **changes)


def _resolutions(res: int) -> list[int]:
    out, r = [], 4
    while r <= res:
        out.append(r)
        r *= 2
    return out


PRESETS: dict[str, ModelConfig] = {
    # What `python -m minigan.train` runs with no arguments: small enough for minutes on 2 cores.
    "sg2-16-small": ModelConfig(model="stylegan2", res=16, z_dim=64, w_dim=64, mapping_layers=2,
                                g_channels={4: 96, 8: 64, 16: 32},
                                d_channels={16: 32, 8: 64, 4: 96}),
    # The writer-style model: 32x32 keeps enough of a hand's detail to tell writers apart.
    "sg2-32-small": ModelConfig(model="stylegan2", res=32, z_dim=128, w_dim=128, mapping_layers=4,
                                g_channels={4: 128, 8: 96, 16: 64, 32: 32},
                                d_channels={32: 32, 16: 64, 8: 96, 4: 128}),
    # A small StyleGAN (AdaIN) at 16x16, the size of sg2-16-small; unconditioned unless
    # --conditioning says otherwise.
    "sg-16-small": ModelConfig(model="stylegan", res=16, z_dim=64, w_dim=64, mapping_layers=2,
                               conditioning="none", g_channels={4: 96, 8: 64, 16: 32},
                               d_channels={16: 32, 8: 64, 4: 96}),
    # The benchmark presets (issue: training step benchmark).
    "sg2-32-bench": ModelConfig(model="stylegan2", res=32, z_dim=256, w_dim=256, mapping_layers=8,
                                conditioning="none",
                                g_channels={4: 256, 8: 256, 16: 128, 32: 64},
                                d_channels={32: 64, 16: 128, 8: 256, 4: 256}),
    "sg2-16-bench": ModelConfig(model="stylegan2", res=16, z_dim=256, w_dim=256, mapping_layers=8,
                                conditioning="none",
                                g_channels={4: 256, 8: 256, 16: 128},
                                d_channels={16: 128, 8: 256, 4: 256}),
    "sg-16": ModelConfig(model="stylegan", res=16, z_dim=128, w_dim=128, mapping_layers=4,
                         g_channels={4: 128, 8: 128, 16: 64},
                         d_channels={16: 64, 8: 128, 4: 128}),
    # The conditional GAN (class and, with --writers, writer one-hots) at each resolution; the
    # 16x16 one is the 32x32 one without its last block.
    "condgan-16": ModelConfig(model="condgan", res=16, z_dim=64, w_dim=64, conditioning="none",
                              g_channels={4: 256, 8: 128, 16: 64},
                              d_channels={16: 64, 8: 128, 4: 256}),
    "condgan-32": ModelConfig(model="condgan", res=32, z_dim=64, w_dim=64, conditioning="none",
                              g_channels={4: 256, 8: 128, 16: 64, 32: 32},
                              d_channels={32: 32, 16: 64, 8: 128, 4: 256}),
}

# Former preset names, still accepted on the command line. Checkpoints store the whole
# configuration and never a preset name, so a renamed preset changes no saved run.
ALIASES: dict[str, str] = {"sg-16-mnist": "sg-16-small"}


def preset_name(name: str) -> str:
    """The current name of a preset given by its current or former name."""
    return ALIASES.get(name, name)


def preset(name: str) -> ModelConfig:
    name = preset_name(name)
    if name not in PRESETS:
        raise UserError(f"--preset: unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[name])
