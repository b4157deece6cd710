"""The few-shot style encoder, the writer network that trains it, and its training job."""
import numpy as np
import pytest

from minigan.autograd import Tensor
from minigan.generate import load_generator
from minigan.models.encoder import StyleEncoder, hand_matrix, set_attention, set_mean
from minigan.models.writer_id import WriterNet, WriterNetConfig, contrastive_loss
from minigan.style import draw, random_style
from minigan.style_train import Hands, StyleTrainConfig, StyleTrainer, make_task, main
from minigan.testing import gradcheck


def _moved(enc, seed=0, scale=0.5):
    """The encoder with its zero-initialised last layer given random weights, so that its
    output depends on the glyphs."""
    rng = np.random.default_rng(seed)
    enc.head1.weight.data = (rng.standard_normal(enc.head1.weight.shape) * scale).astype(np.float32)
    return enc


def _glyphs(n, res, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, 1, res, res)).astype(np.float32)


def test_shapes_with_a_different_k_per_hand(model_dir):
    G, cfg = load_generator(model_dir)
    enc = StyleEncoder.from_generator(G, cfg)
    hands = np.repeat(np.arange(3), [1, 4, 7])                     # K = 1, 4 and 7
    labels = np.arange(len(hands)) % cfg.num_classes
    ws = enc(Tensor(_glyphs(len(hands), cfg.res, 0)), labels, hands, 3)
    assert ws.shape == (3, cfg.num_ws, cfg.w_dim)
    # It starts at the generator's average w, whatever the glyphs.
    np.testing.assert_allclose(ws.numpy(), np.broadcast_to(enc.w_avg.numpy(), ws.shape), atol=1e-6)
    _moved(enc)
    ws = enc(Tensor(_glyphs(len(hands), cfg.res, 0)), labels, hands, 3).numpy()
    assert not np.allclose(ws[0], ws[1]) and not np.allclose(ws[1], ws[2])
    one = enc.encode(_glyphs(4, cfg.res, 1), labels[:4])
    assert one.shape == (1, cfg.num_ws, cfg.w_dim) and one.dtype == np.float32
    # The reference glyphs are the generator's own drawings at the average w.
    ref = draw(G, cfg, random_style(G, cfg), cfg.charset)
    assert enc.reference.shape == (cfg.num_classes, 1, cfg.res, cfg.res)
    assert ref.shape == enc.reference.shape


def test_the_order_of_the_glyphs_does_not_matter(model_dir):
    G, cfg = load_generator(model_dir)
    enc = _moved(StyleEncoder.from_generator(G, cfg))
    hands = np.repeat(np.arange(4), [5, 3, 9, 2])
    labels = np.random.default_rng(2).integers(0, cfg.num_classes, len(hands))
    glyphs = _glyphs(len(hands), cfg.res, 3)
    ws = enc(Tensor(glyphs), labels, hands, 4).numpy()
    perm = np.random.default_rng(4).permutation(len(hands))        # across and within hands
    shuffled = enc(Tensor(glyphs[perm]), labels[perm], hands[perm], 4).numpy()
    np.testing.assert_allclose(shuffled, ws, rtol=1e-4, atol=1e-5)
    # A hand's code depends on its own glyphs only.
    alone = enc(Tensor(glyphs[hands == 2]), labels[hands == 2], np.zeros(9, np.int64), 1).numpy()
    np.testing.assert_allclose(alone[0], ws[2], rtol=1e-4, atol=1e-5)


def test_a_hand_without_glyphs_is_an_error():
    like = Tensor(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="no glyphs"):
        hand_matrix(np.array([0, 0, 2]), 3, like)
    with pytest.raises(ValueError, match="integers in"):
        hand_matrix(np.array([0, 3]), 3, like)


def test_set_pooling_gradients_in_float64():
    rng = np.random.default_rng(0)
    hands = np.array([0, 1, 0, 2, 1, 1])
    x = Tensor(rng.standard_normal((6, 3)), requires_grad=True, dtype=np.float64)
    s = Tensor(rng.standard_normal((6, 1)), requires_grad=True, dtype=np.float64)
    assert gradcheck(lambda x: set_mean(x, hands, 3), [x])
    assert gradcheck(lambda x, s: set_attention(x, s, hands, 3), [x, s])
    # Attention with equal scores is the mean.
    flat = Tensor(np.zeros((6, 1)), dtype=np.float64)
    np.testing.assert_allclose(set_attention(x, flat, hands, 3).numpy(),
                               set_mean(x, hands, 3).numpy(), atol=1e-12)


def test_gradients_reach_every_encoder_parameter(model_dir):
    G, cfg = load_generator(model_dir)
    enc = _moved(StyleEncoder.from_generator(G, cfg))
    hands = np.repeat(np.arange(2), [3, 5])
    ws = enc(Tensor(_glyphs(8, cfg.res, 5)), np.arange(8) % cfg.num_classes, hands, 2)
    img = G.synthesis(ws, np.array([0, 1]), noise_mode="const")   # through the frozen generator
    (img * img).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None and np.abs(p.grad.numpy()).sum() > 0, name


def test_writer_embedding_is_unit_length_and_order_free():
    net = WriterNet(WriterNetConfig(res=16, num_classes=6))
    hands = np.array([0, 0, 1, 1, 1])
    labels = np.array([0, 1, 2, 3, 4])
    glyphs = _glyphs(5, 16, 6)
    e = net.hand_embedding(Tensor(glyphs), labels, hands, 2).numpy()
    np.testing.assert_allclose((e * e).sum(axis=1), 1.0, rtol=1e-5)
    perm = np.array([4, 2, 0, 3, 1])
    np.testing.assert_allclose(net.hand_embedding(Tensor(glyphs[perm]), labels[perm],
                                                  hands[perm], 2).numpy(), e, atol=1e-6)
    loss = contrastive_loss(Tensor(e), Tensor(e), 0.1)
    assert np.isfinite(loss.item())


def _tiny_hands(G, cfg, n_hands=6, per_char=3, seed=0):
    """Hands drawn by the tiny generator, each from its own random style (so the generator can
    reach them), a few glyphs of every character with noise."""
    rng = np.random.default_rng(seed)
    glyphs, labels, by_hand = [], [], []
    for h in range(n_hands):
        style = random_style(G, cfg, seed=seed + 10 + h, truncation=1.5)
        chars = {}
        for c in range(cfg.num_classes):
            start = sum(len(g) for g in glyphs)
            drawn = np.concatenate([draw(G, cfg, style, cfg.charset[c], variation=0.3,
                                         seed=int(rng.integers(1 << 30)))
                                    for _ in range(per_char)])
            glyphs.append(drawn)
            labels += [c] * per_char
            chars[c] = np.arange(start, start + per_char)
        by_hand.append(chars)
    return Hands(np.concatenate(glyphs), np.array(labels), by_hand, np.zeros(n_hands, bool))


def test_losses_fall_on_a_tiny_set(model_dir):
    G, cfg = load_generator(model_dir)
    hands = _tiny_hands(G, cfg)
    tc = StyleTrainConfig(hands=4, targets=2, k_min=2, k_max=4, writer_steps=25, steps=25,
                          lr=1e-2, writer_lr=3e-3, adv=0.0, r1_interval=4, seed=0)
    trainer = StyleTrainer(tc, G, cfg, hands, None)
    probe = make_task(hands, np.arange(len(hands)), 4, 4, 2, np.random.default_rng(7))

    def writer_loss():
        e_style = trainer.W.hand_embedding(Tensor(probe.style), probe.style_labels,
                                           probe.style_hands, probe.num_hands)
        e_target = trainer.W.hand_embedding(Tensor(probe.target), probe.target_labels,
                                            probe.target_hands, probe.num_hands)
        return contrastive_loss(e_target, e_style, trainer.W.cfg.temperature).item()

    def drawn_error():
        ws = trainer.E(Tensor(probe.style), probe.style_labels, probe.style_hands, probe.num_hands)
        drawn = trainer.draw(ws, probe.target_labels, probe.target_hands).numpy()
        return float(np.abs(drawn - probe.target).mean())

    before = writer_loss()
    while trainer.stage == "writer":
        trainer.step()
    assert writer_loss() < 0.8 * before
    before = drawn_error()
    while trainer.step_index < tc.writer_steps + tc.steps:
        stats = trainer.step()
    assert drawn_error() < 0.9 * before
    assert set(stats) >= {"loss_d", "adv", "identity", "pixel", "feature"}


def test_job_runs_resumes_and_draws(model_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--generator", str(model_dir), "--data", "builtin@0-5", "--dev", "builtin@6-8",
            "--hands", "3", "--targets", "2", "--k-min", "2", "--k-max", "3",
            "--writer-steps", "2", "--tick", "2", "--out", str(out)]
    assert main(args + ["--steps", "2"]) == 0
    assert (out / "checkpoint.npz").is_file() and (out / "preview.png").is_file()
    assert main(args + ["--steps", "2"]) == 2                        # exists: needs --resume
    assert main(["--resume", "--steps", "4", "--out", str(out)]) == 0
    assert "resumed" in capsys.readouterr().out
    from minigan.checkpoint import load_checkpoint
    from minigan.style_train import load_encoder

    assert load_checkpoint(out / "checkpoint.npz").step == 6
    enc, G, cfg = load_encoder(out)
    assert enc.encode(_glyphs(3, cfg.res, 0), [0, 1, 2]).shape == (1, cfg.num_ws, cfg.w_dim)
    assert main(["--picture", str(tmp_path / "p.png"), "--out", str(out)]) == 0
    assert (tmp_path / "p.png").is_file()
    assert main(["--k-min", "9", "--k-max", "3", "--out", str(tmp_path / "bad")]) == 2


def test_batches_keep_real_hands_beside_designed_ones():
    from minigan.style_train import pick_hands

    designed = np.array([False] * 4 + [True] * 20)
    hands = Hands(np.zeros((0, 1, 16, 16), np.float32), np.zeros(0, np.int64),
                  [{}] * len(designed), designed)
    rng = np.random.default_rng(0)
    for _ in range(20):
        chosen = pick_hands(hands, 8, 0.5, rng)
        assert len(set(chosen.tolist())) == 8
        assert (~designed[chosen]).sum() == 4
    assert (~designed[pick_hands(hands, 8, 0.9, rng)]).sum() == 4     # only 4 real hands exist


def test_train_g_moves_the_synthesis_layers_but_not_the_characters(model_dir, tmp_path):
    G, cfg = load_generator(model_dir)
    before = {n: p.data.copy() for n, p in G.named_parameters()}
    tc = StyleTrainConfig(hands=3, targets=2, k_min=2, k_max=3, writer_steps=0, steps=2,
                          train_g=True, r1_interval=4)
    trainer = StyleTrainer(tc, G, cfg, _tiny_hands(G, cfg, n_hands=3, per_char=1), None)
    trainer.step()
    trainer.step()
    moved = {n for n, p in G.named_parameters() if not np.array_equal(p.data, before[n])}
    assert moved and all(n.startswith("synthesis.") for n in moved)
    assert not any(n.startswith("synthesis.input.") for n in moved)
    assert not any(n.startswith("mapping.") for n in moved)
