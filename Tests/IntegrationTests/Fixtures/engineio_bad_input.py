"""Sends what well-behaved Socket.IO clients never send, over raw Engine.IO v4, and prints what the
controller answered as one JSON line. Usage: engineio_bad_input.py PORT"""
import asyncio, json, sys, urllib.error, urllib.request

import websockets

PORT = int(sys.argv[1])
WS = f"ws://127.0.0.1:{PORT}/socket.io/?EIO=4&transport=websocket"


async def opened(ws):
    assert (await ws.recv()).startswith("0")
    await ws.send("40")
    assert (await ws.recv()).startswith("40")


def http(path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=10) as response:
            return [response.status, response.read().decode()]
    except urllib.error.HTTPError as error:
        return [error.code, error.read().decode()]


async def main():
    results = {}
    async with websockets.connect(WS) as ws:
        await opened(ws)
        await ws.send(b"\x00\x01binary")              # binary: dropped
        await ws.send("4garbage")                    # not a Socket.IO packet
        await ws.send("9")                           # not an Engine.IO packet
        await ws.send('42["join"]')                  # an event without an ack: nothing to answer
        await ws.send('42{"no":"name"}')             # an event without a name
        await ws.send("40/admin,")                   # a namespace that does not exist
        results["namespace"] = await ws.recv()
        await ws.send('421["getRouterRtpCapabilities"]')  # no payload, before token
        results["after_garbage"] = await ws.recv()
    async with websockets.connect(WS, max_size=None) as ws:
        await opened(ws)
        try:
            await ws.send('42["x","' + "a" * 1_100_000 + '"]')
            await asyncio.wait_for(ws.recv(), 10)
            results["oversize"] = "answered"
        except websockets.exceptions.ConnectionClosed as closed:
            results["oversize"] = closed.rcvd.code if closed.rcvd else "no close frame"
    results["polling_v3"] = http("/socket.io/?EIO=3&transport=polling")
    results["unknown_sid"] = http("/socket.io/?EIO=4&transport=polling&sid=nope")
    results["unknown_transport"] = http("/socket.io/?EIO=4&transport=flash")
    async with websockets.connect(WS) as ws:  # still serving
        await opened(ws)
        await ws.send('422["getRouterRtpCapabilities",{"data":{}}]')
        results["still_serving"] = await ws.recv()
    print(json.dumps(results))


asyncio.run(main())
