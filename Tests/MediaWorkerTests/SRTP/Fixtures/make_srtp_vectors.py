"""Known-answer SRTP/SRTCP packets for SrtpVectorTests, made by an independent libsrtp build
(pylibsrtp's wheel, built on OpenSSL; aiortc's SRTP). Run with the media venv's Python:

    .venv-clients/media/bin/python Tests/MediaWorkerTests/SRTP/Fixtures/make_srtp_vectors.py

and paste what it prints into SrtpVectorTests.swift. Keys and packets are fixed, so the output is
always the same.
"""
import pylibsrtp

PROFILES = [
    ("aesCm128HmacSha1_80", pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
    ("aeadAes128Gcm", pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
]
# RTP: V=2, PT 96, sequence 0x1234, timestamp 0xDEADBEEF, SSRC 0x11223344, a 40-byte payload.
RTP = bytes([0x80, 0x60, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44]) + bytes(range(40))
# RTCP: a receiver report from SSRC 0x11223344 with no blocks.
RTCP = bytes([0x80, 0xC9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44])

for name, profile, length in PROFILES:
    key = bytes((7 * index + 1) & 0xFF for index in range(length))
    session = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                                 srtp_profile=profile))
    print(name)
    print("  key  ", key.hex())
    print("  srtp ", session.protect(RTP).hex())
    print("  srtcp", session.protect_rtcp(RTCP).hex())
