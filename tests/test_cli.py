"""The command lines: every option explained in --help, each default shown once."""
import importlib

import pytest

COMMANDS = ["train", "generate", "invert", "write", "font", "style_train"]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_explains_every_option_and_states_each_default_once(name):
    parser = importlib.import_module(f"minigan.{name}").build_parser()
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, f"minigan.{name} {action.option_strings or action.dest}: no help"
        text = formatter._get_help_string(action) % vars(action)
        assert text.count("(default") <= 1, text
        assert "(default: None)" not in text, text


@pytest.mark.parametrize("name", COMMANDS)
def test_help_runs_and_describes_the_job(name, capsys):
    parser = importlib.import_module(f"minigan.{name}").build_parser()
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m minigan.{name}")
    assert "--help`" not in out                       # the description is not a pointer to itself
