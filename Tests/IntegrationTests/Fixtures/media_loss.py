"""NACK both ways with real peers (pymediasoup on aiortc):

- downlink: the subscriber loses every 12th video packet on arrival, asks for it again with a
  generic NACK, and gets it back from the worker — on the RTX stream if it negotiated one, else on
  the media stream;
- uplink: the publisher's every 12th video packet never leaves; the worker notices the gap, NACKs
  the publisher, and aiortc resends the packet on its RTX stream, which the worker unwraps.

(Downlink RTX is not negotiated: pymediasoup's receiving device does not offer RTX, as aiortc's RTX
capabilities carry no `apt`, so mediasoup-client's matching leaves it out. The sending side does
send RTX: its parameters come from the router's capabilities.)

  media_loss.py CONTROLLER_URL PUBLISHER_TOKEN SUBSCRIBER_TOKEN

Prints one JSON object: frames decoded while losing, the worker's consumer stats, the RTX packets
aiortc received, and the last consumerScore.
"""
import asyncio
import json
import struct
import sys

import aioice
from aiortc.mediastreams import VideoStreamTrack

import media_peers
from media_peers import Peer, wait_for

URL, PUBLISHER_TOKEN, SUBSCRIBER_TOKEN = sys.argv[1], sys.argv[2], sys.argv[3]
results = {"errors": media_peers.errors}
lossy = {"ssrcs": set(), "rtx_ssrcs": set(), "seen": 0, "dropped": 0, "rtx_received": 0, "missing": set(),
         "recovered": 0}
uplink = {"ssrc": None, "rtx_ssrc": None, "seen": 0, "dropped": 0, "missing": set(), "resent": 0}
original_recv = aioice.Connection.recv
original_send = aioice.Connection.send


def should_drop_uplink(data):
    """Every 12th packet the publisher sends on its video stream, the first time only. Resends go
    through and are counted: RTX packets, or a dropped sequence number again on the media stream
    (SRTP leaves the RTP header in the clear)."""
    if uplink["ssrc"] is None or len(data) < 12 or not 128 <= data[0] < 192 or 192 <= data[1] <= 223:
        return False
    ssrc = struct.unpack("!I", data[8:12])[0]
    if ssrc == uplink["rtx_ssrc"]:
        uplink["resent"] += 1
        return False
    if ssrc != uplink["ssrc"]:
        return False
    sequence = struct.unpack("!H", data[2:4])[0]
    if sequence in uplink["missing"]:
        uplink["missing"].discard(sequence)
        uplink["resent"] += 1
        return False
    uplink["seen"] += 1
    if uplink["seen"] % 12 == 0:
        uplink["dropped"] += 1
        uplink["missing"].add(sequence)
        return True
    return False


async def lossy_send(self, data):
    if should_drop_uplink(data):
        return
    await original_send(self, data)


def should_drop(data):
    """Every 12th packet of the lossy video stream, each sequence number once, before SRTP (a packet
    dropped after decryption would make its resend a replay that libsrtp refuses)."""
    if len(data) < 12 or not 128 <= data[0] < 192 or 192 <= data[1] <= 223:
        return False
    ssrc = struct.unpack("!I", data[8:12])[0]
    if ssrc in lossy["rtx_ssrcs"]:
        lossy["rtx_received"] += 1
        return False
    if ssrc not in lossy["ssrcs"]:
        return False
    sequence = struct.unpack("!H", data[2:4])[0]
    if sequence in lossy["missing"]:
        lossy["missing"].discard(sequence)
        lossy["recovered"] += 1
        return False
    lossy["seen"] += 1
    if lossy["seen"] % 12 == 0:
        lossy["dropped"] += 1
        lossy["missing"].add(sequence)
        return True
    return False


async def lossy_recv(self):
    while True:
        data = await original_recv(self)
        if not should_drop(data):
            return data


aioice.Connection.recv = lossy_recv
aioice.Connection.send = lossy_send


async def main():
    video = VideoStreamTrack()
    publisher = Peer(URL, "publisher", [video])
    subscriber = Peer(URL, "subscriber", [])
    await subscriber.start(SUBSCRIBER_TOKEN, producing=False, consuming=True)
    await publisher.start(PUBLISHER_TOKEN, producing=True, consuming=False)
    producer = await publisher.transport.produce(track=video, stopTracks=False)
    sending = producer.rtpParameters.encodings[0]
    uplink["rtx_ssrc"] = sending.rtx.ssrc if sending.rtx is not None else None
    uplink["ssrc"] = sending.ssrc
    if not await wait_for(lambda: len(subscriber.consumers) == 1, 15):
        raise RuntimeError("no consumer")
    consumer_id, entry = next(iter(subscriber.consumers.items()))
    encoding = entry["consumer"].rtpParameters.encodings[0]
    results["rtx_negotiated"] = encoding.rtx is not None
    if encoding.rtx is not None:
        lossy["rtx_ssrcs"].add(encoding.rtx.ssrc)
    lossy["ssrcs"].add(encoding.ssrc)
    results["video_flowing"] = await wait_for(lambda: subscriber.frames("video") >= 90, 40)
    await asyncio.sleep(3.0)  # receiver reports with the repaired loss reach the worker
    # Counted before the stats are asked for: the worker counts a repair when it resends, before
    # the packet arrives here, so the stats can only be ahead of these.
    results["dropped"] = lossy["dropped"]
    results["recovered"] = lossy["recovered"]
    stats = await subscriber.request("getConsumerStats", {"consumerId": consumer_id})
    results["stats"] = stats[0] if isinstance(stats, list) and stats else stats
    results["uplink_dropped"] = uplink["dropped"]
    results["uplink_resent"] = uplink["resent"]
    results["uplink_rtx"] = uplink["rtx_ssrc"] is not None
    producer_stats = await publisher.request("getProducerStats", {"producerId": producer.id})
    results["producer_stats"] = producer_stats[0] if isinstance(producer_stats, list) and producer_stats else None
    results["rtx_received"] = lossy["rtx_received"]
    results["frames"] = subscriber.frames("video")
    scores = [data["score"]["score"] for _, event, data in subscriber.events if event == "consumerScore"]
    results["last_consumer_score"] = scores[-1] if scores else None
    await publisher.sio.disconnect()
    await subscriber.sio.disconnect()


async def guarded():
    try:
        await asyncio.wait_for(main(), 90)
    except Exception as error:
        results["errors"].append(repr(error))


asyncio.run(guarded())
print(json.dumps(results))
sys.stdout.flush()
