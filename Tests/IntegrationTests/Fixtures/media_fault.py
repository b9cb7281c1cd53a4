"""Two rooms with media on different workers; one worker is killed with SIGKILL.

  media_fault.py CONTROLLER_URL ERIZO_LOG ROOM_A ROOM_B A1 A2 A3 A4 B1 B2

Room A (publisher A1, subscriber A2) and room B (B1, B2) each carry VP8 video. The worker holding
room A (found in the agent's log) is killed: room B must keep flowing, the worker must be back within
2 s, room A's clients must be told (disconnected), and a new join to room A (A3, A4) must get media.
Prints one JSON object.
"""
import asyncio
import json
import os
import re
import signal
import sys
import time

from aiortc.mediastreams import VideoStreamTrack

import media_peers
from media_peers import Peer, wait_for

URL, LOG, ROOM_A, ROOM_B = sys.argv[1:5]
A1, A2, A3, A4, B1, B2 = sys.argv[5:11]
results = {"errors": media_peers.errors}


def log_lines():
    with open(LOG, encoding="utf-8", errors="replace") as handle:
        return handle.read().splitlines()


def worker_of(room):
    """(worker index, pid) of the worker holding a room, from the agent's log lines."""
    index = None
    for line in log_lines():
        if "room placed" in line and f"room.id={room}" in line:
            index = re.search(r"agent\.worker=(\d+)", line).group(1)
    pid = None
    for line in log_lines():
        if "media worker started" in line and f"agent.worker={index} " in line + " ":
            pid = int(re.search(r"agent\.worker\.pid=(\d+)", line).group(1))
    return index, pid


async def room(publisher_token, subscriber_token, name):
    video = VideoStreamTrack()
    subscriber = Peer(URL, f"{name}-subscriber", [])
    publisher = Peer(URL, f"{name}-publisher", [video])
    await subscriber.start(subscriber_token, producing=False, consuming=True)
    await publisher.start(publisher_token, producing=True, consuming=False)
    await publisher.transport.produce(track=video, stopTracks=False)
    return publisher, subscriber


async def main():
    a_pub, a_sub = await room(A1, A2, "a")
    b_pub, b_sub = await room(B1, B2, "b")
    results["both_flowing"] = await wait_for(
        lambda: a_sub.frames("video") >= 30 and b_sub.frames("video") >= 30, 30)
    index_a, pid_a = worker_of(ROOM_A)
    index_b, _ = worker_of(ROOM_B)
    results["different_workers"] = index_a is not None and index_a != index_b
    starts_before = sum(1 for line in log_lines() if "media worker started" in line)

    killed_at = time.monotonic()
    os.kill(pid_a, signal.SIGKILL)
    results["replaced"] = await wait_for(
        lambda: sum(1 for line in log_lines() if "media worker started" in line) > starts_before, 5)
    results["replaced_after"] = round(time.monotonic() - killed_at, 3)
    results["a_notified"] = await wait_for(
        lambda: any(event == "disconnect" for _, event, _ in a_sub.events)
        and any(event == "disconnect" for _, event, _ in a_pub.events), 10)
    await asyncio.sleep(max(0, killed_at + 3 - time.monotonic()))
    results["b_frames_after_kill"] = b_sub.frames_between("video", killed_at, killed_at + 3)

    # Room A again, with new tokens: media flows on a live worker.
    a2_pub, a2_sub = await room(A3, A4, "a-again")
    results["a_again_flowing"] = await wait_for(lambda: a2_sub.frames("video") >= 30, 30)
    for peer in [a2_pub, a2_sub, b_pub, b_sub]:
        await peer.sio.disconnect()


async def guarded():
    try:
        await asyncio.wait_for(main(), 150)
    except Exception as error:
        results["errors"].append(repr(error))


asyncio.run(guarded())
print(json.dumps(results))
sys.stdout.flush()
