"""Every README and docs code block meant to run runs as pasted; the option tables are current.

The convention, for writers of README.md and docs/*.md:

- A fenced block whose info string starts with ``python`` runs, as its own program, in a
  fresh interpreter (``python -c``) in an empty directory. It must run as pasted: its own
  imports, no top-level ``await``, no names from another block.
- ``python no-run`` marks a fragment that needs the reader's code around it (a consumer
  method, a FastAPI route); GitHub still highlights it as Python. Use it sparingly.
- ``python redis`` runs with ``TIDINGS_URL`` naming the session's real redis-server; every
  other block runs with ``TIDINGS_URL`` unset (memory://).
- In every block, ``redis://127.0.0.1:6379/0`` and ``redis://localhost:6379`` (the address a
  reader's local Redis has) become the session's redis-server, so a block that builds a
  ``RedisChannelLayer`` talks to a real server.
- Other languages (``bash``, ``nginx``, plain) are shown, not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from .options_table import render

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.M | re.S)
LOCAL_REDIS = re.compile(r"redis://(127\.0\.0\.1|localhost):6379(/0)?")


class Block(NamedTuple):
    page: Path
    line: int
    info: list[str]
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, match.start()) + 1, match[1].split(), match[2])
        for match in FENCE.finditer(text)
    ]


RUNNABLE = [
    block
    for page in PAGES
    for block in blocks(page)
    if block.info[:1] == ["python"] and "no-run" not in block.info
]


def test_the_docs_have_blocks_to_run():
    # A regex that silently matches nothing would pass every test below.
    assert len(RUNNABLE) >= 20, [block.name for block in RUNNABLE]
    assert {block.page.name for block in RUNNABLE} >= {"README.md", "getting-started.md"}


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.name)
def test_block_runs_as_pasted(block: Block, tmp_path: Path, request: pytest.FixtureRequest):
    env = {k: v for k, v in os.environ.items() if k != "TIDINGS_URL"}
    env["PYTHONPATH"] = str(ROOT)
    code = block.code
    if "redis" in block.info or LOCAL_REDIS.search(code):
        url = request.getfixturevalue("redis_server").url
        code = LOCAL_REDIS.sub(url, code)
        if "redis" in block.info:
            env["TIDINGS_URL"] = url
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=45,
    )
    assert result.returncode == 0, f"{block.name} failed:\n{result.stderr}"
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr


def test_configuration_tables_match_the_declared_options():
    page = ROOT / "docs" / "configuration.md"
    text = page.read_text()
    assert text.count("<!-- options:") == 2
    assert render(text) == text, (
        "docs/configuration.md is out of date with tidings/rules/options.py; run "
        "python -m tests.docs.options_table docs/configuration.md"
    )


LINK = re.compile(r"\]\(([^)\s]+)\)|<img src=\"([^\"]+)\"")


@pytest.mark.parametrize(
    "page", [*PAGES, ROOT / "examples" / "README.md"], ids=lambda p: str(p.relative_to(ROOT))
)
def test_every_relative_link_points_at_a_file_that_exists(page: Path):
    missing = []
    for match in LINK.finditer(page.read_text()):
        target = (match[1] or match[2]).split("#")[0]
        if not target or "://" in target or target.startswith("mailto:"):
            continue
        path = (page.parent / target).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_the_readme_starts_with_the_two_commands():
    first = (ROOT / "README.md").read_text().splitlines()[:6]
    assert first[2] == "```bash", first
    assert first[3].startswith("./scripts/demo") and first[4].startswith("./scripts/test"), first
