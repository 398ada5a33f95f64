"""Every Lua script is cluster-safe by construction (pure: reads the files, no Redis).

On a Cluster, ``#!lua`` makes Redis refuse a script that touches a key of another slot,
but Redis checks slots, not declarations: an undeclared key of the *same* slot passes, and
with no declared key nothing is checked at all. So this test reads every script and fails
if one uses a key that is neither declared (``KEYS[n]``) nor built from ``KEYS[1]``'s
partition prefix (``string.match(KEYS[1], '^.-}')``, hence in KEYS[1]'s slot), or if a
script declares no key, or lacks the shebang (read-only scripts: ``flags=no-writes``).
"""

from __future__ import annotations

import re
from importlib import resources

import pytest

SCRIPTS = resources.files("tidings.layers.redis").joinpath("scripts")
READ_ONLY = {"presence.lua", "history.lua"}
KEYLESS = {"TIME"}  # commands without a key argument
CALL = re.compile(r"redis\.p?call\(\s*'([A-Za-z]+)'\s*(?:,\s*([^,)]+))?")
PARTITION = re.compile(r"local\s+(\w+)\s*=\s*string\.match\(KEYS\[1\],\s*'\^\.-}'\)")
DERIVED = r"local\s+(\w+)\s*=\s*{part}\s*\.\."
LOOP = re.compile(r"for\s+_,\s*(\w+)\s+in\s+ipairs\((\w+)\)")
INSERT = r"table\.insert\({table},\s*([^)]*)\)"


def problems(name: str, source: str) -> list[str]:
    """What makes ``source`` unsafe on a Cluster (empty: nothing)."""
    found = []
    first = source.splitlines()[0] if source else ""
    if not first.startswith("#!lua"):
        found.append(f"{name}: no '#!lua' shebang (Redis would not check its slots)")
    elif name in READ_ONLY and "flags=no-writes" not in first:
        found.append(f"{name}: read-only, but not declared 'flags=no-writes'")
    if "KEYS[1]" not in source:
        found.append(f"{name}: declares no key (a Cluster would check nothing)")
    code = "\n".join(line.split("--", 1)[0] for line in source.splitlines()[1:])
    derived: set[str] = set()
    for part in PARTITION.findall(code):
        derived.update(re.findall(DERIVED.format(part=re.escape(part)), code))
    for variable, table in LOOP.findall(code):  # a loop over a table of derived keys
        inserted = re.findall(INSERT.format(table=re.escape(table)), code)
        if inserted and all(item.strip() in derived for item in inserted):
            derived.add(variable)
    for command, key in CALL.findall(code):
        if command.upper() in KEYLESS:
            continue
        key = key.strip()
        if re.fullmatch(r"KEYS\[\d+\]", key) or key in derived:
            continue
        found.append(f"{name}: {command} on {key!r}, neither declared nor from KEYS[1]'s tag")
    return found


def all_scripts() -> list[tuple[str, str]]:
    return sorted(
        (entry.name, entry.read_text())
        for entry in SCRIPTS.iterdir()
        if entry.name.endswith(".lua")
    )


def test_there_are_scripts_to_check() -> None:
    names = [name for name, _ in all_scripts()]
    assert {"group_send.lua", "heartbeat.lua", "presence.lua", "history.lua"} <= set(names)


@pytest.mark.parametrize(("name", "source"), all_scripts(), ids=lambda v: v[:20])
def test_every_key_a_script_touches_is_declared_or_built_from_keys_1(
    name: str, source: str
) -> None:
    assert problems(name, source) == []


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("-- no shebang\nreturn redis.call('GET', KEYS[1])", "shebang"),
        ("#!lua\nreturn redis.call('GET', ARGV[1])", "declares no key"),
        ("#!lua\nredis.call('GET', KEYS[1])\nreturn redis.call('LLEN', ARGV[1])", "'ARGV[1]'"),
        (  # built from a prefix passed in ARGV: same slot only by luck
            "#!lua\nlocal key = ARGV[2] .. 'mbox:' .. ARGV[1]\n"
            "redis.call('XADD', KEYS[1], '*', 'e', 1)\nredis.call('XADD', key, '*', 'e', 1)",
            "'key'",
        ),
        (  # a loop over keys one of which is not derived
            "#!lua\nlocal p = string.match(KEYS[1], '^.-}')\nlocal a = p .. ':x'\n"
            "local t = {}\ntable.insert(t, a)\ntable.insert(t, ARGV[1])\n"
            "for _, k in ipairs(t) do redis.call('DEL', k) end",
            "'k'",
        ),
    ],
)
def test_the_check_catches_unsafe_scripts(source: str, complaint: str) -> None:
    found = problems("x.lua", source)
    assert found and any(complaint in problem for problem in found), found


def test_the_check_accepts_a_key_built_from_keys_1() -> None:
    source = (
        "#!lua\nlocal p = string.match(KEYS[1], '^.-}')\nlocal boxes = {}\n"
        "local key = p .. ':mbox:' .. ARGV[1]\ntable.insert(boxes, key)\n"
        "for _, box in ipairs(boxes) do redis.call('XADD', box, '*', 'e', 1) end\n"
        "return redis.call('GET', KEYS[1])"
    )
    assert problems("x.lua", source) == []
