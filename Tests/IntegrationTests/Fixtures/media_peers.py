"""Shared pieces of the media end-to-end fixtures: a mediasoup-client peer (pymediasoup on aiortc)
speaking Erizo's mediasoup-signal Socket.IO protocol, and a polling helper. With FORCE_TCP=1 the
peers ask for TCP transports (`forceTcp`) and reach them over ICE-TCP (aioice_tcp)."""
import array
import asyncio
import math
import os
import time

import socketio
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError
from pymediasoup import AiortcHandler, Device
from pymediasoup.models.transport import DtlsParameters, IceCandidate, IceParameters
from pymediasoup.rtp_parameters import RtpCapabilities, RtpParameters

errors = []
FORCE_TCP = os.environ.get("FORCE_TCP") == "1"
if FORCE_TCP:
    import aioice_tcp

    aioice_tcp.install()


class ToneTrack(AudioStreamTrack):
    """A 440 Hz tone at about -12 dBFS, so audio-level observers hear a speaker (aiortc puts the
    ssrc-audio-level extension on what it sends)."""

    _tone = array.array("h", [int(8000 * math.sin(2 * math.pi * 440 * i / 8000)) for i in range(160)]).tobytes()

    async def recv(self):
        frame = await super().recv()
        for plane in frame.planes:
            plane.update(self._tone + bytes(plane.buffer_size - len(self._tone)))
        return frame


class Peer:
    def __init__(self, url, name, tracks):
        self.url = url
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.device = Device(handlerFactory=AiortcHandler.createFactory(tracks=tracks))
        self.events = []
        self.consumers = {}

    async def request(self, method, data):
        answer = await self.sio.call(method, {"data": data}, timeout=20)
        status, payload = answer if isinstance(answer, (list, tuple)) else (answer, None)
        if status != "success":
            raise RuntimeError(f"{self.name} {method}: {status} {payload}")
        return payload.get("data") if isinstance(payload, dict) else payload

    async def start(self, token, producing, consuming):
        await self.sio.connect(self.url, transports=["websocket"])
        status, payload = await self.sio.call("token", {"token": token}, timeout=20)
        if status != "success":
            raise RuntimeError(f"{self.name} token: {payload}")
        capabilities = await self.request("getRouterRtpCapabilities", {})
        await self.device.load(RtpCapabilities(**capabilities))
        options = await self.request(
            "createWebRtcTransport", {"forceTcp": FORCE_TCP, "producing": producing, "consuming": consuming})
        self.candidate_port = options["iceCandidates"][0]["port"]
        self.candidate_protocols = sorted({c["protocol"] for c in options["iceCandidates"]})
        create = self.device.createSendTransport if producing else self.device.createRecvTransport
        self.transport = create(
            id=options["id"], iceParameters=IceParameters(**options["iceParameters"]),
            iceCandidates=[IceCandidate(**c) for c in options["iceCandidates"]],
            dtlsParameters=DtlsParameters(**options["dtlsParameters"]), sctpParameters=None)

        @self.transport.on("connect")
        async def on_connect(dtlsParameters):
            await self.request("connectWebRtcTransport", {
                "transportId": self.transport.id, "dtlsParameters": dtlsParameters.model_dump(exclude_none=True)})

        @self.transport.on("produce")
        async def on_produce(kind, rtpParameters, appData):
            answer = await self.request("produce", {
                "transportId": self.transport.id, "kind": kind,
                "rtpParameters": rtpParameters.model_dump(by_alias=True, exclude_none=True), "appData": appData})
            return answer["id"]

        for event in ["consumerClosed", "consumerPaused", "consumerResumed", "peerClosed", "newPeer", "activeSpeaker",
                      "consumerScore", "producerScore"]:
            self.sio.on(event, self.recorder(event))
        self.sio.on("disconnect", self.on_disconnect)
        self.sio.on("newConsumer", self.on_new_consumer)
        await self.request("join", {
            "displayName": self.name, "device": {"flag": "python", "name": "pymediasoup", "version": "1.5"},
            "rtpCapabilities": self.device.rtpCapabilities.model_dump(by_alias=True, exclude_none=True)})

    async def on_disconnect(self, *args):
        self.events.append((time.monotonic(), "disconnect", {}))

    def recorder(self, event):
        async def record(payload):
            self.events.append((time.monotonic(), event, (payload or {}).get("data", {})))
        return record

    async def on_new_consumer(self, payload):
        data = payload["data"]
        try:
            consumer = await self.transport.consume(
                id=data["id"], producerId=data["producerId"], kind=data["kind"],
                rtpParameters=RtpParameters(**data["rtpParameters"]))
        except Exception as error:  # report, and refuse the consumer
            errors.append(f"consume: {error!r}")
            return "error", {"errmsg": str(error), "errcode": 500}
        self.consumers[data["id"]] = {"kind": data["kind"], "consumer": consumer, "frames": 0, "times": []}
        asyncio.ensure_future(self.count_frames(data["id"]))
        return "success", {"data": {}}

    async def count_frames(self, consumer_id):
        entry = self.consumers[consumer_id]
        track = entry["consumer"].track
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            entry["frames"] += 1
            entry["times"].append(time.monotonic())

    def frames(self, kind):
        return sum(entry["frames"] for entry in self.consumers.values() if entry["kind"] == kind)

    def frames_between(self, kind, start, end):
        return sum(1 for entry in self.consumers.values() if entry["kind"] == kind
                   for moment in entry["times"] if start <= moment < end)


async def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.1)
    return condition()
