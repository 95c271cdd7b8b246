"""A discord.py 2.x bot, unmodified but for where it connects, run by discordpy.int.test.ts.

    python discordpy_bot.py <base url> <token> <guild id>

It logs in, waits for a live on_message in the guild, reads that channel's history, send()s a
message, sees it come back through the gateway (on_message) and in history, and prints one JSON
line per step ({"step": ..., ...}) for the test to check. Any failure exits non-zero with the
reason on stderr; the whole run is bounded by TIMEOUT seconds.
"""

import asyncio
import json
import secrets
import sys

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

TIMEOUT = 90


def report(step, **fields):
    print(json.dumps({"step": step, **fields}), flush=True)


def main():
    base, token, guild_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # The only changes to a stock bot: the REST base and the gateway discord.py connects to
    # (it does not ask /gateway/bot for the URL unless sharded).
    Route.BASE = f"{base}/api/v10"
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(base.replace("http", "ws", 1) + "/")

    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(intents=intents)
    state = {"live": None}
    own = {}  # this bot's messages seen over the gateway, by id: one may arrive before send() returns
    events = {"live": asyncio.Event(), "own": asyncio.Event()}

    @client.event
    async def on_ready():
        report("ready", user_id=str(client.user.id), username=client.user.name,
               application_id=str(client.application_id), guilds=sorted(str(g.id) for g in client.guilds))

    @client.event
    async def on_message(message):
        if message.guild is None or message.guild.id != guild_id:
            return
        if message.author.id == client.user.id:
            own[message.id] = message
            events["own"].set()
        elif message.content and state["live"] is None:
            state["live"] = message
            events["live"].set()

    async def scenario():
        await client.wait_until_ready()
        await events["live"].wait()
        message = state["live"]
        report("on_message", id=str(message.id), channel_id=str(message.channel.id), content=message.content)

        channel = message.channel
        history = [m async for m in channel.history(limit=100)]
        report("history", ids=[str(m.id) for m in history], contains_live=any(m.id == message.id for m in history))

        content = f"hello from discord.py {secrets.token_hex(4)}"
        sent = await channel.send(content)
        report("sent", id=str(sent.id), content=sent.content, author_id=str(sent.author.id), guild_id=str(sent.guild.id))
        while sent.id not in own:
            events["own"].clear()
            await events["own"].wait()
        report("own_on_message", id=str(own[sent.id].id), content=own[sent.id].content)

        for _ in range(100):
            found = [m async for m in channel.history(limit=100) if m.id == sent.id]
            if found:
                report("own_in_history", id=str(found[0].id), content=found[0].content)
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError("the sent message never appeared in history")

    async def run():
        async with client:
            await client.login(token)
            connecting = asyncio.create_task(client.connect(reconnect=False))
            try:
                await asyncio.wait_for(scenario(), TIMEOUT)
            finally:
                await client.close()
                connecting.cancel()

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - the test reads the reason
        print(f"discord.py bot failed: {exc!r}", file=sys.stderr, flush=True)
        sys.exit(1)
    report("done")


if __name__ == "__main__":
    main()
