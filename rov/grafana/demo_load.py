"""Real WebRTC traffic for the dashboard snapshot (scripts/dashboard-snapshot): pymediasoup peers on
aiortc through the Socket.IO protocol, joining and leaving over time so the panels have a shape.

  demo_load.py CONTROLLER_URL SECONDS ROOM_A_TOKENS(4, comma-separated) ROOM_B_TOKENS(2)

Room A: one publisher (VP8 + Opus) and three subscribers that join 15 s apart; room B: a publisher
of audio and one subscriber, which leave at 70 % of the run.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../Tests/IntegrationTests/Fixtures"))
from aiortc.mediastreams import VideoStreamTrack  # noqa: E402

from media_peers import Peer, ToneTrack  # noqa: E402

URL, SECONDS = sys.argv[1], float(sys.argv[2])
ROOM_A, ROOM_B = sys.argv[3].split(","), sys.argv[4].split(",")


async def publisher(name, token, tracks):
    peer = Peer(URL, name, tracks)
    await peer.start(token, producing=True, consuming=False)
    for track in tracks:
        await peer.transport.produce(track=track, stopTracks=False)
    return peer


async def subscriber(name, token):
    peer = Peer(URL, name, [])
    await peer.start(token, producing=False, consuming=True)
    return peer


async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    video, tone = VideoStreamTrack(), ToneTrack()
    peers = [await publisher("a-publisher", ROOM_A[0], [video, tone])]
    room_b = [await publisher("b-publisher", ROOM_B[0], [ToneTrack()]), await subscriber("b-subscriber", ROOM_B[1])]
    for index, token in enumerate(ROOM_A[1:]):
        await asyncio.sleep(15)
        peers.append(await subscriber(f"a-subscriber-{index}", token))
    await asyncio.sleep(max(0, start + SECONDS * 0.7 - loop.time()))
    for peer in room_b:
        await peer.sio.disconnect()
    await asyncio.sleep(max(0, start + SECONDS - loop.time()))
    frames = sum(peer.frames("video") + peer.frames("audio") for peer in peers)
    for peer in peers:
        await peer.sio.disconnect()
    await asyncio.sleep(0.5)
    print(f"demo load: {len(peers) + len(room_b)} peers, {frames} frames decoded in room A")


asyncio.run(main())
