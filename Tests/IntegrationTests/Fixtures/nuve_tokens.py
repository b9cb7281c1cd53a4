#!/usr/bin/env python3
"""Asks Nuve for a room and tokens, as an application server does (MAuth as the superservice).

  nuve_tokens.py BASE_URL SUPERSERVICE_ID SUPERSERVICE_KEY COUNT [ROOM_ID] [USER_PREFIX]

Prints one JSON line: {"room": id, "tokens": [base64 token, ...]} with users USER_PREFIX0..N-1.
"""
import base64, hashlib, hmac, json, random, sys, time, urllib.request

BASE, SUPER_ID, SUPER_KEY, COUNT = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ROOM = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
PREFIX = sys.argv[6] if len(sys.argv) > 6 else "user"


def mauth(user=None, role=None):
    timestamp, cnonce = int(time.time() * 1000), random.randint(0, 99998)
    to_sign = f"{timestamp},{cnonce}"
    header = "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1"
    if user is not None:
        header += f",mauth_username={user},mauth_role={role}"
        to_sign += f",{user},{role}"
    mac = hmac.new(SUPER_KEY.encode(), to_sign.encode(), hashlib.sha1).hexdigest().encode()
    return header + (f",mauth_serviceid={SUPER_ID},mauth_cnonce={cnonce},mauth_timestamp={timestamp},"
                     f"mauth_signature={base64.b64encode(mac).decode()}")


def post(path, body=None, user=None):
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(BASE + path, data=data, method="POST")
    request.add_header("Authorization", mauth(user, "presenter" if user else None))
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


room = ROOM or json.loads(post("/rooms/", {"name": "it-room"}))["_id"]
tokens = [post(f"/rooms/{room}/tokens/", user=f"{PREFIX}{i}") for i in range(COUNT)]
print(json.dumps({"room": room, "tokens": tokens}))
