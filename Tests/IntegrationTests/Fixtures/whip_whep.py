"""An aiortc WHIP publisher, an aiortc WHEP player and a pymediasoup Socket.IO subscriber in one room.

  whip_whep.py CONTROLLER_URL WHIP_TOKEN WHEP_TOKEN SOCKETIO_TOKEN SPARE_TOKEN

First the endpoint's refusals (no token, wrong content type, broken SDP, unknown resources, PATCH,
a reused token); then the publisher sends VP8 and Opus over WHIP, the player pulls them over WHEP
and decodes, the Socket.IO peer sees the WHIP peer and its producers; then both HTTP sessions end
with DELETE, and a publisher that vanishes without DELETE is ended by the controller. Prints one
JSON object with what each step observed.
"""
import asyncio
import json
import sys
import time

import aiohttp
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, VideoStreamTrack

import media_peers
from media_peers import Peer, ToneTrack, wait_for

URL, WHIP_TOKEN, WHEP_TOKEN, SIO_TOKEN, SPARE_TOKEN = sys.argv[1:6]
results = {"errors": media_peers.errors}
SDP = {"Content-Type": "application/sdp"}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def post(http, path, token, body, content_type="application/sdp"):
    headers = {"Content-Type": content_type}
    if token:
        headers.update(bearer(token))
    async with http.post(URL + path, data=body, headers=headers) as response:
        return response.status, await response.text(), dict(response.headers)


async def count_frames(track, counter, kind):
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return
        counter[kind] += 1


async def main():
    async with aiohttp.ClientSession() as http:
        publisher = RTCPeerConnection()
        publisher.addTransceiver(VideoStreamTrack(), direction="sendonly")
        publisher.addTransceiver(ToneTrack(), direction="sendonly")
        await publisher.setLocalDescription(await publisher.createOffer())
        offer = publisher.localDescription.sdp

        # Refusals, none of which may use a token up.
        refusals = {}
        refusals["no_token"] = (await post(http, "/whip", None, offer))[0]
        refusals["bad_signature"] = (await post(http, "/whip", "eyJ0b2tlbklkIjoiMSJ9", offer))[0]
        refusals["wrong_type"] = (await post(http, "/whip", WHIP_TOKEN, offer, "application/json"))[0]
        status, reason, _ = await post(http, "/whip", WHIP_TOKEN, offer.replace("a=fingerprint:", "a=x-fingerprint:"))
        refusals["no_fingerprint"] = [status, reason]
        status, reason, _ = await post(http, "/whip", WHIP_TOKEN, "v=0\r\nhello\r\n")
        refusals["garbage"] = [status, reason]
        async with http.delete(URL + "/whip/00000000-0000-0000-0000-000000000000") as response:
            refusals["delete_unknown"] = response.status
        async with http.patch(URL + "/whip/anything", data="", headers=SDP) as response:
            refusals["patch"] = response.status
        async with http.options(URL + "/whep") as response:
            refusals["options"] = [response.status, response.headers.get("Access-Control-Allow-Origin")]
        status, reason, _ = await post(http, "/whep", SPARE_TOKEN, offer)  # a send-only offer to WHEP
        refusals["whep_sendonly"] = [status, reason]
        results["refusals"] = refusals

        # A Socket.IO subscriber already in the room sees the WHIP peer arrive and consumes it.
        watcher = Peer(URL, "watcher", [])
        await watcher.start(SIO_TOKEN, producing=False, consuming=True)

        status, answer, headers = await post(http, "/whip", WHIP_TOKEN, offer)
        results["whip_status"] = status
        results["whip_location"] = headers.get("Location", "")
        if status != 201:
            results["errors"].append(f"WHIP: {status} {answer}")
            return
        results["whip_answer_lite"] = "a=ice-lite" in answer
        await publisher.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        results["token_reused"] = (await post(http, "/whip", WHIP_TOKEN, offer))[0]

        results["watcher_saw_peer"] = await wait_for(
            lambda: any(event == "newPeer" for _, event, _ in watcher.events), 10)
        results["watcher_consumers"] = len(watcher.consumers) if await wait_for(
            lambda: len(watcher.consumers) == 2, 10) else len(watcher.consumers)

        player = RTCPeerConnection()
        player.addTransceiver("video", direction="recvonly")
        player.addTransceiver("audio", direction="recvonly")
        counter = {"video": 0, "audio": 0}

        @player.on("track")
        def on_track(track):
            asyncio.ensure_future(count_frames(track, counter, track.kind))

        await player.setLocalDescription(await player.createOffer())
        started = time.monotonic()
        status, answer, headers = await post(http, "/whep", WHEP_TOKEN, player.localDescription.sdp)
        results["whep_status"] = status
        results["whep_answer_ms"] = round((time.monotonic() - started) * 1000)
        results["whep_location"] = headers.get("Location", "")
        if status != 201:
            results["errors"].append(f"WHEP: {status} {answer}")
            return
        # (After the player is placed: a WHEP session without ?peer takes the first producers.)
        # A publisher that vanishes without DELETE (it never even connects): the controller ends
        # its session after 30 s without a connected ICE tuple.
        ghost = RTCPeerConnection()
        ghost.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await ghost.setLocalDescription(await ghost.createOffer())
        status, _, headers = await post(http, "/whip", SPARE_TOKEN, ghost.localDescription.sdp)
        ghost_id = headers.get("Location", "").rsplit("/", 1)[-1]
        results["ghost_status"] = status
        ghost_posted = time.monotonic()
        await ghost.close()
        results["whep_sendonly_sections"] = answer.count("a=sendonly")
        await player.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        results["whep_video_flowing"] = await wait_for(lambda: counter["video"] >= 60, 30)
        results["whep_audio_flowing"] = await wait_for(lambda: counter["audio"] >= 50, 10)
        results["whep_video_frames"] = counter["video"]
        results["whep_audio_frames"] = counter["audio"]
        results["watcher_video_frames"] = watcher.frames("video")

        async with http.delete(URL + results["whip_location"]) as response:
            results["whip_delete"] = response.status
        results["watcher_peer_closed"] = await wait_for(
            lambda: any(event == "peerClosed" for _, event, _ in watcher.events), 10)
        async with http.delete(URL + results["whep_location"]) as response:
            results["whep_delete"] = response.status
        async with http.delete(URL + results["whep_location"]) as response:
            results["whep_delete_again"] = response.status
        results["ghost_expired"] = await wait_for(lambda: any(
            event == "peerClosed" and data.get("peerId") == ghost_id for _, event, data in watcher.events), 60)
        results["ghost_seconds"] = round(time.monotonic() - ghost_posted)
        await publisher.close()
        await player.close()
        await watcher.sio.disconnect()


try:
    asyncio.run(asyncio.wait_for(main(), 150))
except Exception as error:  # report instead of a traceback, so the test shows what failed
    results["errors"].append(repr(error))
print(json.dumps(results))
