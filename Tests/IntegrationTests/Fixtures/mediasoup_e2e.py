"""A publisher and a subscriber on pymediasoup (aiortc) through Erizo's mediasoup-signal protocol.

  mediasoup_e2e.py CONTROLLER_URL PUBLISHER_TOKEN SUBSCRIBER_TOKEN

The publisher sends VP8 video and Opus audio (aiortc's synthetic tracks); the subscriber consumes
them through `newConsumer` and decodes. Then the publisher pauses and resumes its video producer,
and finally leaves. Prints one JSON object with what each step observed.
"""
import asyncio
import json
import sys
import time

from aiortc.mediastreams import VideoStreamTrack

import media_peers
from media_peers import Peer, ToneTrack, wait_for

URL, PUBLISHER_TOKEN, SUBSCRIBER_TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
results = {"errors": media_peers.errors}


async def main():
    video, audio = VideoStreamTrack(), ToneTrack()
    publisher = Peer(URL, "publisher", [video, audio])
    subscriber = Peer(URL, "subscriber", [])
    await subscriber.start(SUBSCRIBER_TOKEN, producing=False, consuming=True)
    await publisher.start(PUBLISHER_TOKEN, producing=True, consuming=False)
    results["ports"] = [publisher.candidate_port, subscriber.candidate_port]
    results["protocols"] = sorted(set(publisher.candidate_protocols + subscriber.candidate_protocols))
    video_producer = await publisher.transport.produce(track=video, stopTracks=False)
    await publisher.transport.produce(track=audio, stopTracks=False)
    results["consumers"] = sorted(entry["kind"] for entry in subscriber.consumers.values()) if await wait_for(
        lambda: len(subscriber.consumers) == 2, 15) else sorted(e["kind"] for e in subscriber.consumers.values())
    results["video_flowing"] = await wait_for(lambda: subscriber.frames("video") >= 60, 30)
    results["audio_flowing"] = await wait_for(lambda: subscriber.frames("audio") >= 50, 10)
    results["active_speaker"] = await wait_for(
        lambda: any(event == "activeSpeaker" and data.get("peerId") for _, event, data in subscriber.events), 5)
    results["consumer_scores"] = sum(1 for _, event, _ in subscriber.events if event == "consumerScore")
    # The worker's loss-based scores: the latest per producer (the publisher's view) and per
    # consumer (the subscriber's), after a few sender and receiver reports.
    await asyncio.sleep(3.0)
    results["producer_scores"] = sorted({data["producerId"]: data["score"][0]["score"] for _, event, data in
                                         publisher.events if event == "producerScore" and data.get("score")}.values())
    results["last_consumer_scores"] = sorted({data["consumerId"]: data["score"]["score"] for _, event, data in
                                              subscriber.events if event == "consumerScore"}.values())
    results["video_frames"] = subscriber.frames("video")
    results["audio_frames"] = subscriber.frames("audio")

    # Pause the video producer: the subscriber is told, and frames stop.
    await publisher.request("pauseProducer", {"producerId": video_producer.id})
    results["paused_event"] = await wait_for(
        lambda: any(event == "consumerPaused" for _, event, _ in subscriber.events), 5)
    await asyncio.sleep(1.0)  # frames already in flight drain
    quiet_start = time.monotonic()
    await asyncio.sleep(2.0)
    results["frames_while_paused"] = subscriber.frames_between("video", quiet_start, time.monotonic())
    await publisher.request("resumeProducer", {"producerId": video_producer.id})
    resumed_at = time.monotonic()
    results["resumed_event"] = await wait_for(
        lambda: any(event == "consumerResumed" for _, event, _ in subscriber.events), 5)
    results["resumed"] = await wait_for(
        lambda: subscriber.frames_between("video", resumed_at, time.monotonic()) >= 30, 15)

    # The publisher leaves: its transport closes on the worker, the subscriber's consumers close.
    await publisher.sio.disconnect()
    results["closed_consumers"] = await wait_for(
        lambda: sum(1 for _, event, _ in subscriber.events if event == "consumerClosed") >= 2, 10)
    results["peer_closed"] = any(event == "peerClosed" for _, event, _ in subscriber.events)
    await subscriber.sio.disconnect()


async def guarded():
    try:
        await asyncio.wait_for(main(), 120)
    except Exception as error:
        results["errors"].append(repr(error))


asyncio.run(guarded())
print(json.dumps(results))
sys.stdout.flush()
