"""Preset names say what they are, former names still work, and a training run says what next."""
import numpy as np
import pytest

from minigan.checkpoint import load_checkpoint
from minigan.errors import UserError
from minigan.models import ALIASES, PRESETS, build_models, preset
from minigan.train import main


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_with_a_size_in_its_name_has_that_size(name):
    sizes = [int(part) for part in name.split("-") if part.isdigit()]
    assert sizes == [preset(name).res], name


def test_condgan_16_is_condgan_32_without_its_last_block():
    small = preset("condgan-16").replace(num_classes=10)
    cut = preset("condgan-32").replace(res=16, num_classes=10)
    for a, b in zip(build_models(small, seed=3), build_models(cut, seed=3)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sorted(sa) == sorted(sb)
        for key in sa:
            np.testing.assert_array_equal(sa[key], sb[key], err_msg=key)


@pytest.mark.parametrize("old, new", sorted(ALIASES.items()))
def test_former_names_give_the_renamed_preset(old, new):
    assert new in PRESETS and old not in PRESETS
    assert preset(old) == preset(new)


def test_an_unknown_preset_names_the_option_and_the_choices():
    with pytest.raises(UserError, match=r"--preset: unknown preset 'sg9'.*condgan-16"):
        preset("sg9")


def test_a_run_under_a_former_name_keeps_its_rate_and_ends_with_what_to_try_next(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["--preset", "sg-16-mnist", "--kimg", "0.016", "--tick-kimg", "0.016",
                 "--batch", "8", "--chars", "01", "--out", str(out)]) == 0
    config = load_checkpoint(out / "checkpoint.npz").config
    assert config["train"]["lr"] == 0.01                 # sg-16-small's rate, not the fallback
    assert config["model"]["model"] == "stylegan"
    said = capsys.readouterr().out.splitlines()
    end = "\n".join(said[said.index(next(line for line in said if line.startswith("done."))):])
    for picture in ("samples.png", "progress.gif"):
        assert str(out / picture) in end and (out / picture).is_file()
    assert f"-m minigan.generate --ckpt {out}" in end
    assert "-m minigan.write" in end
