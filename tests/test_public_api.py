import subprocess
import sys

import tidings


def test_all_names_exist_and_nothing_public_is_missing():
    for name in tidings.__all__:
        assert getattr(tidings, name) is not None, name
    assert len(set(tidings.__all__)) == len(tidings.__all__)
    assert sorted(tidings.__all__) == tidings.__all__
    for required in [
        "MemoryChannelLayer",
        "RedisChannelLayer",
        "get_channel_layer",
        "ChannelFull",
        "MessageTooLarge",
        "TidingsError",
        "GroupSendReport",
    ]:
        assert required in tidings.__all__


def test_every_exception_has_one_root():
    from tidings import exceptions

    for name in exceptions.__all__:
        # Consumer signals are not errors: an `except TidingsError` must not swallow them.
        is_error = name not in exceptions.SIGNALS
        assert issubclass(getattr(exceptions, name), tidings.TidingsError) is is_error, name
    assert issubclass(tidings.InvalidName, TypeError)
    assert issubclass(tidings.InvalidMessage, TypeError)
    assert issubclass(tidings.MessageTooLarge, ValueError)
    assert issubclass(tidings.ConfigurationError, ValueError)


def test_import_works_without_django_or_channels():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('django', 'channels', 'redis'):\n"
        "            raise ModuleNotFoundError(name, name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import asyncio, tidings\n"
        "layer = tidings.MemoryChannelLayer()\n"
        "async def main():\n"
        "    c = await layer.new_channel()\n"
        "    await layer.send(c, {'type': 't'})\n"
        "    assert (await layer.receive(c))['type'] == 't'\n"
        "    try:\n"
        "        for _ in range(200):\n"
        "            await layer.send('one', {'type': 't'})\n"
        "    except tidings.ChannelFull:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit('ChannelFull not raised')\n"
        "asyncio.run(main())\n"
        "assert 'django' not in sys.modules and 'channels' not in sys.modules\n"
        "try:\n"
        "    tidings.RedisChannelLayer\n"
        "except tidings.MissingDependency as exc:\n"
        "    assert \"pip install 'tidings[redis]'\" in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('redis import was not blocked')\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_every_public_exception_lives_in_tidings_exceptions():
    # One home per concept; the old import paths still work, as the same classes.
    from tidings import consumers, crypto, exceptions

    for module, names in [
        (crypto, ["DecryptionFailed"]),
        (consumers, ["StopConsumer", "AcceptConnection", "DenyConnection"]),
        (consumers.base, ["StopConsumer", "AcceptConnection", "DenyConnection"]),
    ]:
        for name in names:
            assert getattr(module, name) is getattr(exceptions, name), name
            assert getattr(exceptions, name).__module__ == "tidings.exceptions", name
            assert name in exceptions.__all__
    for name in exceptions.__all__:
        assert name in exceptions.__doc__, f"{name} missing from the drawn hierarchy"


def test_the_contract_page_names_what_exists():
    # docs/contract.md is what the contract suite cites: its methods and numbers are real.
    import re
    from pathlib import Path

    from tidings.layers.base import BaseChannelLayer
    from tidings.rules.messages import MAX_DEPTH

    text = (Path(__file__).resolve().parents[1] / "docs" / "contract.md").read_text()
    methods = re.findall(r"^\| `(\w+)\(", text, flags=re.M)
    assert len(methods) >= 10
    for name in methods:
        assert callable(getattr(BaseChannelLayer, name, None)), name
    assert f"{MAX_DEPTH} levels of dicts and lists" in text
