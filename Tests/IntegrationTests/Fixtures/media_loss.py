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


class EveryTwelfth:
    """Drops every 12th RTP packet of the given media streams, each sequence number once, and counts
    what comes back: the same sequence number again on the media stream (`recovered`), or any
    packet on an RTX stream (`rtx`). It looks at the RTP header only, which SRTP leaves in the
    clear, so it works on either side of SRTP."""

    def __init__(self):
        self.ssrcs, self.rtx_ssrcs, self.missing = set(), set(), set()
        self.seen = self.dropped = self.recovered = self.rtx = 0

    def should_drop(self, data):
        if len(data) < 12 or not 128 <= data[0] < 192 or 192 <= data[1] <= 223:
            return False
        ssrc = struct.unpack("!I", data[8:12])[0]
        if ssrc in self.rtx_ssrcs:
            self.rtx += 1
            return False
        if ssrc not in self.ssrcs:
            return False
        sequence = struct.unpack("!H", data[2:4])[0]
        if sequence in self.missing:
            self.missing.discard(sequence)
            self.recovered += 1
            return False
        self.seen += 1
        if self.seen % 12 == 0:
            self.dropped += 1
            self.missing.add(sequence)
            return True
        return False


# The subscriber drops on arrival, before SRTP (a packet dropped after decryption would make its
# resend a replay that libsrtp refuses); the publisher's packets are dropped instead of sent.
lossy = EveryTwelfth()
uplink = EveryTwelfth()
original_recv = aioice.Connection.recv
original_send = aioice.Connection.send


async def lossy_send(self, data):
    if uplink.should_drop(data):
        return
    await original_send(self, data)


async def lossy_recv(self):
    while True:
        data = await original_recv(self)
        if not lossy.should_drop(data):
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
    if sending.rtx is not None:
        uplink.rtx_ssrcs.add(sending.rtx.ssrc)
    uplink.ssrcs.add(sending.ssrc)
    if not await wait_for(lambda: len(subscriber.consumers) == 1, 15):
        raise RuntimeError("no consumer")
    consumer_id, entry = next(iter(subscriber.consumers.items()))
    encoding = entry["consumer"].rtpParameters.encodings[0]
    results["rtx_negotiated"] = encoding.rtx is not None
    if encoding.rtx is not None:
        lossy.rtx_ssrcs.add(encoding.rtx.ssrc)
    lossy.ssrcs.add(encoding.ssrc)
    results["video_flowing"] = await wait_for(lambda: subscriber.frames("video") >= 90, 40)
    await asyncio.sleep(3.0)  # receiver reports with the repaired loss reach the worker
    # Counted before the stats are asked for: the worker counts a repair when it resends, before
    # the packet arrives here, so the stats can only be ahead of these.
    results["dropped"] = lossy.dropped
    results["recovered"] = lossy.recovered
    stats = await subscriber.request("getConsumerStats", {"consumerId": consumer_id})
    results["stats"] = stats[0] if isinstance(stats, list) and stats else stats
    results["uplink_dropped"] = uplink.dropped
    results["uplink_resent"] = uplink.recovered + uplink.rtx
    results["uplink_rtx"] = bool(uplink.rtx_ssrcs)
    producer_stats = await publisher.request("getProducerStats", {"producerId": producer.id})
    results["producer_stats"] = producer_stats[0] if isinstance(producer_stats, list) and producer_stats else None
    results["rtx_received"] = lossy.rtx
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
