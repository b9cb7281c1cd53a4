"""Active ICE-TCP (RFC 6544, RFC 4571 framing) for aioice, which gathers UDP candidates only.

`install()` makes every aioice Connection pair a remote passive TCP candidate with a local active
one: a TCP connection to the candidate, opened when the pair is made, over which STUN checks,
DTLS and SRTP travel with a 2-byte length before each packet, exactly as browsers do ICE-TCP. The
rest of aiortc (ICE checks and nomination, DTLS, SRTP, codecs) is unchanged. Used by the media
tests' `e2e-tcp` scenario (`FORCE_TCP=1`), where the server offers only TCP.
"""
import asyncio

from aioice import ice
from aioice.candidate import Candidate, candidate_foundation, candidate_priority


class FramedStreamTransport:
    """What aioice's StunProtocol expects of a datagram transport (`sendto`, `close`), over a TCP
    stream: each datagram framed with its length. Writes before the connection is up wait."""

    def __init__(self):
        self.writer = None
        self.waiting = []
        self.closed = False

    def sendto(self, data, addr=None):
        frame = len(data).to_bytes(2, "big") + bytes(data)
        if self.writer is None:
            self.waiting.append(frame)
        elif not self.closed:
            self.writer.write(frame)

    def connected(self, writer):
        self.writer = writer
        for frame in self.waiting:
            writer.write(frame)
        self.waiting.clear()

    def close(self):
        self.closed = True
        if self.writer is not None:
            self.writer.close()

    def get_extra_info(self, name, default=None):
        return default


async def _run(connection, protocol, transport, remote):
    try:
        reader, writer = await asyncio.open_connection(remote.host, remote.port)
    except OSError:
        protocol.connection_lost(None)
        return
    transport.connected(writer)
    buffer = b""
    try:
        while not transport.closed:
            data = await reader.read(65536)
            if not data:
                break
            buffer += data
            while len(buffer) >= 2:
                length = int.from_bytes(buffer[:2], "big")
                if len(buffer) < 2 + length:
                    break
                frame, buffer = buffer[2:2 + length], buffer[2 + length:]
                if frame:
                    protocol.datagram_received(frame, (remote.host, remote.port))
    except OSError:
        pass  # the server closed the connection (a closed transport)
    protocol.connection_lost(None)


def install():
    original = ice.Connection._pair_remote_candidate

    def pair_remote_candidate(self, remote_candidate):
        if remote_candidate.transport.lower() != "tcp" or remote_candidate.tcptype not in (None, "passive"):
            return original(self, remote_candidate)
        for pair in self._check_list:
            if pair.remote_candidate is remote_candidate:
                return  # paired already (aioice pairs again when connect() starts)
        protocol = ice.StunProtocol(self)
        transport = FramedStreamTransport()
        protocol.connection_made(transport)
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "tcp", "127.0.0.2"), component=remote_candidate.component,
            transport="tcp", priority=candidate_priority(remote_candidate.component, "host"), host="127.0.0.2",
            port=9, type="host", tcptype="active")
        self._protocols.append(protocol)
        self._check_list.append(ice.CandidatePair(protocol, remote_candidate))
        asyncio.ensure_future(_run(self, protocol, transport, remote_candidate))

    ice.Connection._pair_remote_candidate = pair_remote_candidate
