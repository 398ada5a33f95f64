"""The package's shape: what each import loads, the optional benchmark harness, the
test helpers users get from ``tidings.testing``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tidings.testing import RedisServer

ROOT = Path(__file__).resolve().parents[1]

# Imports the library and every non-bench command (parsing each and running one as far
# as it goes without a server), then lists the tidings.bench modules that got loaded.
LOADED_BENCH = """
import sys
import tidings, tidings.layers.redis, tidings.layers.redis.introspection, tidings.testing
from tidings.cli import build_parser, main
parser = build_parser()
for argv in (["inspect"], ["listen", "g"], ["send", "c", "{}"], ["group-send", "g", "{}"],
             ["worker", "m:app", "c"], ["demo"]):
    parser.parse_args(argv)
try:
    main(["send", "c", "{nope", "--url", "redis://127.0.0.1:1/0"])
except SystemExit:
    pass
{extra}
print(sorted(m for m in sys.modules if m.split(".")[:2] == ["tidings", "bench"]))
"""


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, as a user's process would import tidings."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded_bench_modules(extra: str = "") -> str:
    result = python(LOADED_BENCH.replace("{extra}", extra))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_library_and_its_commands_load_no_benchmark_code():
    assert loaded_bench_modules() == "[]"


def test_the_check_would_see_benchmark_code():
    # The same probe finds the harness once something imports it: the test above can fail.
    assert "tidings.bench.cli" in loaded_bench_modules("import tidings.bench.cli")


def test_bench_without_its_extra_is_one_line_naming_the_extra():
    hide = "import sys; sys.modules['channels_redis'] = None; sys.modules['uvicorn'] = None\n"
    result = python(hide + "from tidings.cli import main; main(['bench', '--quick'])")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "channels_redis, uvicorn" in line, line
    assert "pip install 'tidings[bench]'" in line, line
    assert "tidings.bench" not in result.stdout


def test_the_bench_parser_offers_what_the_harness_runs():
    from tidings.bench.peers import REDIS_LAYERS
    from tidings.bench.run import SCENARIOS
    from tidings.cli import bench

    assert bench.SCENARIOS == SCENARIOS
    assert tuple(REDIS_LAYERS) == bench.LAYERS


def test_testing_redis_server_starts_and_stops_on_loopback():
    with RedisServer() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        with socket.create_connection(("127.0.0.1", server.port), 2) as conn:
            conn.sendall(b"PING\r\n")
            assert conn.recv(16) == b"+PONG\r\n"
        process = server.process
    assert process is not None and process.poll() is not None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), 0.5).close()


@pytest.mark.slow
def test_mypy_finds_tidings_and_its_types_from_outside_the_repo(tmp_path):
    # As a user's project sees the installed package (editable here, see scripts/bootstrap).
    (tmp_path / "app.py").write_text(
        "import tidings, tidings.testing\n"
        "reveal_type(tidings.get_channel_layer())\n"
        "reveal_type(tidings.testing.RedisServer().url)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "app.py"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert 'Revealed type is "tidings.layers.base.BaseChannelLayer"' in result.stdout, result.stdout
    assert 'Revealed type is "str"' in result.stdout, result.stdout
    assert "Success" in result.stdout, result.stdout


def test_the_changelog_has_the_current_version():
    import tidings

    text = (ROOT / "CHANGELOG.md").read_text()
    assert f"\n## {tidings.__version__}\n" in text
    assert "\n## Unreleased\n" in text
