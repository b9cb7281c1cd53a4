"""Join latency: time from a subscriber sending `token` to its first decoded remote video frame.

  join_latency.py CONTROLLER_URL PUBLISHER_TOKEN SUBSCRIBER_TOKEN...

One pymediasoup publisher sends VP8 and Opus; then each subscriber in turn connects, sends `token`,
joins, consumes, and is timed to its first decoded video frame, then leaves. Prints one JSON object
with every sample and p50/p95 in milliseconds. Run by scripts/bench-join-latency.
"""
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../Tests/IntegrationTests/Fixtures"))
from aiortc.mediastreams import VideoStreamTrack  # noqa: E402

import media_peers  # noqa: E402
from media_peers import Peer, ToneTrack, wait_for  # noqa: E402

URL, PUBLISHER_TOKEN, SUBSCRIBER_TOKENS = sys.argv[1], sys.argv[2], sys.argv[3:]


async def main():
    video, audio = VideoStreamTrack(), ToneTrack()
    publisher = Peer(URL, "publisher", [video, audio])
    await publisher.start(PUBLISHER_TOKEN, producing=True, consuming=False)
    await publisher.transport.produce(track=video, stopTracks=False)
    await publisher.transport.produce(track=audio, stopTracks=False)
    samples = []
    for index, token in enumerate(SUBSCRIBER_TOKENS):
        subscriber = Peer(URL, f"subscriber{index}", [])
        started = time.monotonic()
        await subscriber.start(token, producing=False, consuming=True)
        if await wait_for(lambda: subscriber.frames("video") >= 1, 15):
            first = min(t for entry in subscriber.consumers.values() if entry["kind"] == "video" for t in entry["times"])
            samples.append(round((first - started) * 1000, 1))
        else:
            media_peers.errors.append(f"subscriber {index}: no frame in 15 s")
        await subscriber.sio.disconnect()
        await asyncio.sleep(0.3)
    ordered = sorted(samples)
    result = {"errors": media_peers.errors, "samples_ms": samples}
    if ordered:
        result["p50_ms"] = statistics.median(ordered)
        result["p95_ms"] = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(json.dumps(result))


asyncio.run(main())
