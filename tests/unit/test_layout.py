"""The architecture checks itself: import contracts, a light command line, a real Python project."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    """pyproject.toml's contracts: the core never imports streamlit, ui/ never imports torch,
    and the core's packages import only downward (cli > labs > viz > runs > training > augment|data
    > models > common). A violation names the import and its line."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


_PROBE = """
import contextlib, io, sys
from playground.cli import main
err = io.StringIO()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    try:
        code = main({argv!r})
    except SystemExit as exc:
        code = exc.code
print(code, sorted(m for m in ("torch", "torchvision", "streamlit") if m in sys.modules), err.getvalue().count(chr(10)))
"""


@pytest.mark.parametrize("argv", [["--help"], [], ["no-such-command"], ["--bogus"]])
def test_help_and_usage_errors_import_no_torch(argv):
    """`cnn-playground --help` and a usage error answer without importing torch (seconds on 2 cores)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(argv=argv)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    code, *rest = out.stdout.split(" ", 1)
    assert out.returncode == 0, out.stderr
    assert rest[0].startswith("[]"), f"{argv}: imported {rest[0]}"
    assert int(code) == (0 if argv == ["--help"] else 2)
    if argv not in (["--help"], []):
        assert rest[0].split()[-1] == "1", "a usage error is one line on stderr"


def test_console_script_is_the_cli():
    """pyproject.toml declares `cnn-playground`, a single-sourced version and its runtime dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["cnn-playground"] == "playground.cli:console_main"
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "playground.__version__"}
    pinned = {line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    assert pinned == {d.split("==")[0] for d in project["project"]["dependencies"]}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv = ['cnn-playground', 'summary', 'simplecnn', '--json'];"
            "from playground.cli import console_main; console_main()",
        ],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    assert '"total_params"' in out.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "resnet50", "--json"],
        ["train", "--dataset", "shapes", "--dataset-size", "200", "--epochs", "1", "--device", "cpu", "--json"],
    ],
)
def test_commands_that_need_no_torchvision_do_not_import_it(argv, tmp_path):
    """Importing torchvision costs seconds on 2 cores: a summary or a run on a generated dataset starts without it."""
    argv = [*argv, "--runs-dir", str(tmp_path)] if argv[0] == "train" else argv
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(argv=argv)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    code, *rest = out.stdout.split(" ", 1)
    assert out.returncode == 0 and code == "0", out.stderr
    assert "torchvision" not in rest[0], f"{argv}: imported {rest[0]}"
