#!/usr/bin/env python3
"""Talks to Nuve as an application server does (MAuth as the superservice).

  nuve_tokens.py BASE_URL SUPERSERVICE_ID SUPERSERVICE_KEY COUNT [ROOM_ID] [USER_PREFIX]
      prints {"room": id, "tokens": [base64 token, ...]} for users USER_PREFIX0..N-1
  nuve_tokens.py BASE_URL SUPERSERVICE_ID SUPERSERVICE_KEY request METHOD PATH
      prints {"status": code, "body": text}
"""
import base64, hashlib, hmac, json, random, sys, time, urllib.error, urllib.request

BASE, SUPER_ID, SUPER_KEY = sys.argv[1], sys.argv[2], sys.argv[3]
COUNT = int(sys.argv[4]) if sys.argv[4] != "request" else 0
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


if sys.argv[4] == "request":
    request = urllib.request.Request(BASE + sys.argv[6], method=sys.argv[5])
    request.add_header("Authorization", mauth())
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print(json.dumps({"status": response.status, "body": response.read().decode()}))
    except urllib.error.HTTPError as error:
        print(json.dumps({"status": error.code, "body": error.read().decode()}))
    sys.exit(0)

room = ROOM or json.loads(post("/rooms/", {"name": "it-room"}))["_id"]
tokens = [post(f"/rooms/{room}/tokens/", user=f"{PREFIX}{i}") for i in range(COUNT)]
print(json.dumps({"room": room, "tokens": tokens}))
