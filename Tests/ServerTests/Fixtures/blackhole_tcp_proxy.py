"""A TCP proxy in front of PostgreSQL that can turn into a black hole, as a dead primary
behind HAProxy looks to a client (issue 16): after SIGUSR1 ("cut") it still accepts
connections but never answers them, and every connection it carried goes silent (nothing
forwarded either way, nothing closed). After SIGUSR2 ("heal") new connections are forwarded
again (to the same upstream: the "new primary"); the connections silenced by the cut stay
silent, as they would to a dead host.

Usage: python3 blackhole_tcp_proxy.py UPSTREAM_PORT
Prints one JSON line: {"port": LISTENING_PORT, "pid": PID}; then "cut" / "healed" lines.
"""
import asyncio
import json
import os
import signal
import sys

UPSTREAM = int(sys.argv[1])
state = {"cuts": 0, "cut": False}
held = []  # silenced sockets, kept open so that no FIN or RST tells the client anything


async def hold_forever():
    await asyncio.Event().wait()


async def handle(reader, writer):
    born = state["cuts"]
    if state["cut"]:
        held.append(writer)
        await hold_forever()
        return
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", UPSTREAM)
    except OSError:
        writer.close()
        return

    async def pipe(source, destination):
        while True:
            data = await source.read(65536)
            if state["cuts"] != born:
                # Cut while this connection was open: silent from now on, both ways.
                held.extend([writer, upstream_writer])
                await hold_forever()
            if not data:
                destination.close()
                return
            destination.write(data)
            await destination.drain()

    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)


def cut():
    state["cuts"] += 1
    state["cut"] = True
    print("cut", flush=True)


def heal():
    state["cut"] = False
    print("healed", flush=True)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    # The test process may start this one with these signals blocked (a thread's mask is inherited).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2})
    loop.add_signal_handler(signal.SIGUSR1, cut)
    loop.add_signal_handler(signal.SIGUSR2, heal)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
