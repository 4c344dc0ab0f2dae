"""The project's promises: the core never imports Streamlit; CI runs the README's own test command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_imports_without_streamlit():
    code = (
        "import sys, ganplay, ganplay.cli, ganplay.runs, ganplay.sampling, ganplay.metrics, ganplay.bench; "
        "print('streamlit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_help_starts_without_importing_torch():
    """torch takes about 1.5 s to import: `--help` of every command must not wait for it."""
    code = (
        "import contextlib, io, sys\n"
        "from ganplay.cli import build_parser, main\n"
        "commands = [[]] + [[name] for name in build_parser()._subparsers._group_actions[0].choices]\n"
        "for command in commands:\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "        main([*command, '--help'])\n"
        "print(len(commands), sorted(m for m in sys.modules if m.split('.')[0] == 'torch')[:3])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    count, imported = out.stdout.strip().split(" ", 1)
    assert int(count) >= 14 and imported == "[]", out.stdout  # the top level and every command


def test_core_source_never_mentions_streamlit_imports():
    for path in (ROOT / "ganplay").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+streamlit", path.read_text(), re.MULTILINE), path


def readme_commands() -> list[str]:
    """The shell commands in the README's fenced ```bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    test_commands = [c for c in readme_commands() if "pytest" in c]
    assert test_commands, "the README must give the test command in a ```bash block"
    assert test_commands[0] in (ROOT / ".ci" / "run").read_text()


def test_shipped_models_are_small_loadable_and_say_how_they_were_made():
    from ganplay.checkpoints import load_generator

    shipped = sorted((ROOT / "checkpoints").glob("*.pt"))
    assert [p.stem for p in shipped] == ["mnist-cdcgan", "mnist-dcgan", "ring8-mlp"]
    for path in shipped:
        assert path.stat().st_size <= 5 * 1024 * 1024
        record = json.loads(path.with_suffix(".json").read_text())
        assert record["commands"][0].startswith(
            ("python -m ganplay train", "OMP_NUM_THREADS=1 python -m ganplay train")
        )
        assert any(c.startswith("python -m ganplay export") for c in record["commands"][1:])
        _generator, ckpt = load_generator(path)
        assert ckpt.generator_only and ckpt.step == record["step"]


def test_the_server_config_keeps_the_app_local_and_guarded():
    """What .streamlit/config.toml holds for safety: this machine only, its own Host names, XSRF and CORS on."""
    import tomllib

    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert set(server["allowedHosts"]) == {"localhost", "127.0.0.1", "::1"}
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True
    assert server.get("corsAllowedOrigins", []) == []
