"""The project's promises: the core never imports Streamlit; CI runs the README's own test command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_core_imports_without_streamlit():
    code = ("import sys, ganplay, ganplay.cli, ganplay.runs, ganplay.sampling, ganplay.metrics, ganplay.bench; "
            "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_core_source_never_mentions_streamlit_imports():
    for path in (ROOT / "ganplay").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+streamlit", path.read_text(), re.M), path


def readme_commands() -> list[str]:
    """The shell commands in the README's fenced ```bash blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_test_command():
    test_commands = [c for c in readme_commands() if "pytest" in c]
    assert test_commands, "the README must give the test command in a ```bash block"
    assert test_commands[0] in (ROOT / ".ci" / "run").read_text()
