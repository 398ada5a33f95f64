"""The smallest tidings program: two listeners in a group and one broadcast."""

import asyncio

import tidings


async def main() -> None:
    layer = tidings.MemoryChannelLayer()
    a, b = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("room", a)
    await layer.group_add("room", b)
    report = await layer.group_send("room", {"type": "chat.message", "text": "hello"})
    print(report)
    print(await layer.receive(a), await layer.receive(b))


asyncio.run(main())
