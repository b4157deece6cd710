"""A PyTorch peer of minigan's `sg2-32-bench` training step, for timing only.

The same networks (parameter counts checked equal) and the same step as `Trainer.step` with
r1_gamma=0 (the benchmark's): a StyleGAN2 generator (8-layer mapping, demodulated modulated 3x3
convolutions as in stylegan2-ada-pytorch's training path, transposed convolution + [1,3,3,1]
blur to upsample, noise, gray skip outputs) and the residual discriminator with minibatch
standard deviation; one D update on real and fake (style mixing 0.9), one G update, Adam
(0, 0.99), then the EMA of G. Equalized learning rate as runtime weight gains, as minigan does. torch is not a minigan dependency: this file is
imported only by the benchmarks, which skip without it.

Run: python benchmarks/torch_peer.py --threads 2 --rounds 3   (prints JSON)
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import resource
import time

import numpy as np

SQRT2 = math.sqrt(2.0)


def build(torch, z_dim=256, w_dim=256, mapping_layers=8, g_ch=None, d_ch=None, res=32):
    """(G, D) as torch modules with minigan's sg2-32-bench shapes."""
    nn, F = torch.nn, torch.nn.functional
    g_ch = g_ch or {4: 256, 8: 256, 16: 128, 32: 64}
    d_ch = d_ch or {32: 64, 16: 128, 8: 256, 4: 256}
    blur = torch.tensor([1.0, 3.0, 3.0, 1.0])
    blur = (blur[:, None] * blur[None, :]) / 64.0                            # [4, 4], sums to 1

    def fir(x, pad, gain=1.0, down=1):
        """Depthwise [1,3,3,1] filter (its own flip) with padding (x0, x1, y0, y1)."""
        c = x.shape[1]
        k = (blur * gain).to(x.dtype).expand(c, 1, 4, 4)
        return F.conv2d(F.pad(x, pad), k, stride=down, groups=c)

    class Linear(nn.Module):
        def __init__(self, i, o, lr_mul=1.0, bias_init=0.0):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(o, i) / lr_mul)
            self.bias = nn.Parameter(torch.full((o,), bias_init / lr_mul))
            self.gain, self.lr_mul = lr_mul / math.sqrt(i), lr_mul

        def forward(self, x, act=False):
            y = F.linear(x, self.weight * self.gain, self.bias * self.lr_mul)
            return F.leaky_relu(y, 0.2) * SQRT2 if act else y

    class ModLayer(nn.Module):
        def __init__(self, i, o, up=False, k=3, demod=True, noise=True):
            super().__init__()
            self.affine = Linear(w_dim, i, bias_init=1.0)
            self.weight = nn.Parameter(torch.randn(o, i, k, k))
            self.bias = nn.Parameter(torch.zeros(o))
            self.strength = nn.Parameter(torch.zeros(())) if noise else None
            self.up, self.demod, self.k = up, demod, k
            self.gain = 1.0 if demod else 1.0 / math.sqrt(i)

        def forward(self, x, w):
            # stylegan2-ada-pytorch's training path (fused_modconv=False): scale the input by
            # the styles, one shared convolution for the batch, demodulate the output.
            n = x.shape[0]
            styles = self.affine(w) * self.gain                             # [N, C]
            y = x * styles[:, :, None, None]
            if self.up:
                y = F.conv_transpose2d(y, self.weight.transpose(0, 1), stride=2)  # [N, O, 2H+1, 2W+1]
                y = fir(y, (1, 1, 1, 1), gain=4.0)
            else:
                y = F.conv2d(y, self.weight, padding=self.k // 2)
            if self.demod:
                wt = self.weight[None] * styles[:, None, :, None, None]     # [N, O, C, k, k]
                y = y * torch.rsqrt(wt.square().sum(dim=(2, 3, 4)) + 1e-8)[:, :, None, None]
            if self.strength is not None:
                y = y + torch.randn(n, 1, y.shape[2], y.shape[3]) * self.strength
            y = y + self.bias[None, :, None, None]
            return F.leaky_relu(y, 0.2) * SQRT2 if self.demod else y

    resolutions = [4, 8, 16, 32][: int(math.log2(res)) - 1]

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fcs = nn.ModuleList(Linear(z_dim if i == 0 else w_dim, w_dim, lr_mul=0.01)
                                     for i in range(mapping_layers))
            self.register_buffer("w_avg", torch.zeros(w_dim))
            self.const = nn.Parameter(torch.randn(1, g_ch[4], 4, 4))
            self.layers = nn.ModuleDict({"conv4": ModLayer(g_ch[4], g_ch[4]),
                                         "gray4": ModLayer(g_ch[4], 1, k=1, demod=False, noise=False)})
            for r in resolutions[1:]:
                self.layers[f"up{r}"] = ModLayer(g_ch[r // 2], g_ch[r], up=True)
                self.layers[f"conv{r}"] = ModLayer(g_ch[r], g_ch[r])
                self.layers[f"gray{r}"] = ModLayer(g_ch[r], 1, k=1, demod=False, noise=False)
            self.num_ws = 2 + 3 * (len(resolutions) - 1)

        def mapping(self, z, update_w_avg=False):
            x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
            for fc in self.fcs:
                x = fc(x, act=True)
            if update_w_avg:
                with torch.no_grad():
                    self.w_avg.copy_(x.mean(0).lerp(self.w_avg, 0.995))
            return x

        def synthesis(self, ws):
            L = self.layers
            x = L["conv4"](self.const.expand(ws.shape[0], -1, -1, -1), ws[:, 0])
            img = L["gray4"](x, ws[:, 1])
            for i, r in enumerate(resolutions[1:]):
                k = 1 + 2 * i
                x = L[f"conv{r}"](L[f"up{r}"](x, ws[:, k]), ws[:, k + 1])
                up = F.conv_transpose2d(img, torch.ones(1, 1, 1, 1), stride=2)  # zero insertion
                img = fir(F.pad(up, (0, 1, 0, 1)), (2, 1, 2, 1), gain=4.0) + L[f"gray{r}"](x, ws[:, k + 2])
            return img

    class Block(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.conv0 = nn.Parameter(torch.randn(i, i, 3, 3))
            self.conv1 = nn.Parameter(torch.randn(o, i, 3, 3))
            self.skip = nn.Parameter(torch.randn(o, i, 1, 1))
            self.b0, self.b1 = nn.Parameter(torch.zeros(i)), nn.Parameter(torch.zeros(o))
            self.g3, self.g1 = 1 / math.sqrt(9 * i), 1 / math.sqrt(i)

        def forward(self, x):
            skip = F.conv2d(fir(x, (1, 1, 1, 1), down=2), self.skip * self.g1)
            h = F.leaky_relu(F.conv2d(x, self.conv0 * self.g3, self.b0, padding=1), 0.2) * SQRT2
            h = F.conv2d(fir(h, (1, 1, 1, 1), down=2), self.conv1 * self.g3, self.b1, padding=1)
            return (F.leaky_relu(h, 0.2) * SQRT2 + skip) * math.sqrt(0.5)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.from_gray = nn.Parameter(torch.randn(d_ch[res], 1, 1, 1))
            self.from_gray_bias = nn.Parameter(torch.zeros(d_ch[res]))
            self.blocks = nn.ModuleList(Block(d_ch[r], d_ch[r // 2]) for r in resolutions[::-1][:-1])
            self.conv4 = nn.Parameter(torch.randn(d_ch[4], d_ch[4] + 1, 3, 3))
            self.conv4_bias = nn.Parameter(torch.zeros(d_ch[4]))
            self.fc, self.out = Linear(d_ch[4] * 16, d_ch[4]), Linear(d_ch[4], 1)

        def forward(self, img):
            x = F.leaky_relu(F.conv2d(img, self.from_gray, self.from_gray_bias), 0.2) * SQRT2
            for block in self.blocks:
                x = block(x)
            n, c, h, w = x.shape
            g = min(4, n)
            y = x.reshape(g, n // g, c, h, w)
            y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))
            y = y.reshape(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
            x = torch.cat([x, y], 1)
            gain = 1 / math.sqrt(9 * (c + 1))
            x = F.leaky_relu(F.conv2d(x, self.conv4 * gain, self.conv4_bias, padding=1), 0.2) * SQRT2
            return self.out(self.fc(x.flatten(1), act=True)).reshape(-1)

    return Generator(), Discriminator()


class Step:
    """One D update plus one G update at `batch`, as minigan's Trainer.step without R1."""

    def __init__(self, torch, batch=32, lr=0.0025, mix_prob=0.9, seed=0):
        torch.manual_seed(seed)
        self.torch, self.batch, self.mix_prob = torch, batch, mix_prob
        self.G, self.D = build(torch)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        ratio = 16 / 17
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.0, 0.99), eps=1e-8)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=lr * ratio,
                                      betas=(0.0, 0.99 ** ratio), eps=1e-8)
        self.images = torch.tanh(torch.randn(256, 1, 32, 32))
        self.rng = np.random.default_rng(seed)

    def _fake(self, update_w_avg):
        torch, G = self.torch, self.G
        z = torch.randn(self.batch, 256)
        ws = G.mapping(z, update_w_avg)[:, None].expand(-1, G.num_ws, -1)
        if self.rng.random() < self.mix_prob:
            cut = int(self.rng.integers(1, G.num_ws))
            ws2 = G.mapping(torch.randn(self.batch, 256))[:, None].expand(-1, G.num_ws, -1)
            ws = torch.cat([ws[:, :cut], ws2[:, cut:]], 1)
        return G.synthesis(ws)

    def __call__(self):
        torch, F = self.torch, self.torch.nn.functional
        real = self.images[torch.randint(0, len(self.images), (self.batch,))]
        with torch.no_grad():
            fake = self._fake(False)
        d_loss = F.softplus(self.D(fake)).mean() + F.softplus(-self.D(real)).mean()
        self.opt_D.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_D.step()
        self.D.requires_grad_(False)
        g_loss = F.softplus(-self.D(self._fake(True))).mean()
        self.opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)
        decay = 0.5 ** (self.batch / 2000)
        with torch.no_grad():
            for e, p in zip(self.G_ema.parameters(), self.G.parameters()):
                e.lerp_(p, 1 - decay)
            self.G_ema.w_avg.copy_(self.G.w_avg)
        return d_loss.item(), g_loss.item()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--batch", type=int, default=32, help="images per step")
    p.add_argument("--rounds", type=int, default=3, help="timed steps after one warm-up step")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    step = Step(torch, batch=args.batch)
    step()
    seconds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"threads": torch.get_num_threads(), "batch": args.batch, "seconds": seconds,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
