#!/usr/bin/env python3
"""A Nuve client written the way Licode's Nuve clients are (nuve.js / nuve.py): MAuth built from the
spec, JSON bodies, the token returned as a raw base64 string. It drives a running Nuve and exits
non-zero with a message on the first unexpected answer.

  licode_nuve_client.py BASE_URL SUPERSERVICE_ID SUPERSERVICE_KEY SUPERSERVICE_KEY_FOR_TOKENS
"""
import base64, hashlib, hmac, json, random, sys, time, urllib.error, urllib.request

BASE, SUPER_ID, SUPER_KEY = sys.argv[1], sys.argv[2], sys.argv[3]

def mauth(service_id, key, user=None, role=None, timestamp=None, cnonce=None):
    timestamp = int(time.time() * 1000) if timestamp is None else timestamp
    cnonce = random.randint(0, 99998) if cnonce is None else cnonce
    to_sign = f"{timestamp},{cnonce}"
    header = "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1"
    if user is not None and role is not None:
        header += f",mauth_username={user},mauth_role={role}"
        to_sign += f",{user},{role}"
    signature = base64.b64encode(hmac.new(key.encode(), to_sign.encode(), hashlib.sha1).hexdigest().encode()).decode()
    return header + f",mauth_serviceid={service_id},mauth_cnonce={cnonce},mauth_timestamp={timestamp},mauth_signature={signature}"

def send(method, path, body=None, service=(SUPER_ID, SUPER_KEY), user=None, role=None, raw_auth=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", raw_auth if raw_auth is not None else mauth(*service, user, role))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)

def expect(condition, message):
    if not condition:
        print("FAIL:", message, file=sys.stderr)
        sys.exit(1)

# Services (superservice only)
status, body, _ = send("POST", "/services/", {"name": "app", "key": "appKey"})
expect(status == 200, f"create service: {status} {body}")
app_id = json.loads(body)
expect(isinstance(app_id, str) and len(app_id) == 24, f"service id {body}")
status, body, _ = send("GET", "/services/")
expect(status == 200 and any(s["_id"] == app_id for s in json.loads(body)), f"list services: {status} {body}")
app = (app_id, "appKey")
status, body, _ = send("GET", "/services/", service=app)
expect((status, body) == (401, "Service not authorized for this action"), f"app listing services: {status} {body}")

# Rooms, as the app
status, body, _ = send("POST", "/rooms/", {"name": "licode-room", "options": {"data": {"k": "v"}}}, service=app)
expect(status == 200, f"create room: {status} {body}")
room = json.loads(body)
expect(room["name"] == "licode-room" and room["data"] == {"k": "v"}, f"room {room}")
status, body, _ = send("GET", "/rooms/", service=app)
expect(status == 200 and [r["_id"] for r in json.loads(body)] == [room["_id"]], f"list rooms: {body}")
status, body, _ = send("GET", "/rooms/" + room["_id"], service=(SUPER_ID, SUPER_KEY))
expect((status, body) == (404, "Room does not exist"), f"another service sees the room: {status} {body}")

# Token (a controller is registered by the test before this script runs)
status, body, headers = send("POST", f"/rooms/{room['_id']}/tokens/", service=app, user="alice", role="presenter")
expect(status == 200, f"create token: {status} {body}")
token = json.loads(base64.b64decode(body))
expect(list(token.keys()) == ["tokenId", "host", "secure", "signature"], f"token keys {list(token.keys())}")
expected = base64.b64encode(hmac.new(sys.argv[4].encode(), f"{token['tokenId']},{token['host']}".encode(),
                                     hashlib.sha1).hexdigest().encode()).decode()
expect(token["signature"] == expected, "token signature does not verify with the superservice key")
print("TOKEN", token["tokenId"])

# Room edits keep the room's controller binding (the reference loses it)
status, body, _ = send("PUT", "/rooms/" + room["_id"], {"name": "renamed"}, service=app)
expect((status, body) == (200, "Room Updated"), f"put room: {status} {body}")
status, body, _ = send("PATCH", "/rooms/" + room["_id"], {"options": {"data": {"extra": 2}}}, service=app)
expect((status, body) == (200, "Room Updated"), f"patch room: {status} {body}")
status, body, _ = send("GET", "/rooms/" + room["_id"], service=app)
expect(json.loads(body)["name"] == "renamed" and json.loads(body)["data"] == {"extra": 2}, f"edited room {body}")

# Users, answered by the controller over the bus
status, body, _ = send("GET", f"/rooms/{room['_id']}/users/", service=app)
expect(status == 200 and [u["name"] for u in json.loads(body)] == ["alice", "bob"], f"users: {status} {body}")
status, body, _ = send("GET", f"/rooms/{room['_id']}/users/bob", service=app)
expect(status == 200 and json.loads(body)["name"] == "bob", f"user bob: {status} {body}")
status, body, _ = send("GET", f"/rooms/{room['_id']}/users/carol", service=app)
expect((status, body) == (404, "User does not exist"), f"user carol: {status} {body}")
status, body, _ = send("DELETE", f"/rooms/{room['_id']}/users/bob", service=app)
expect((status, body) == (200, "Success"), f"delete bob: {status} {body}")
status, body, _ = send("DELETE", f"/rooms/{room['_id']}/users/carol", service=app)
expect((status, body) == (404, "User does not exist"), f"delete carol: {status} {body}")

# Rejections: bad signature, replay, stale timestamp, malformed header
fixed = int(time.time() * 1000)
status, body, _ = send("GET", "/rooms/", service=app, raw_auth=mauth(app_id, "appKey", timestamp=fixed, cnonce=4242))
expect(status == 200, f"first use of a nonce: {status} {body}")
status, body, _ = send("GET", "/rooms/", service=app, raw_auth=mauth(app_id, "appKey", timestamp=fixed, cnonce=4242))
expect(status == 401, f"replayed request was accepted: {status} {body}")
status, body, _ = send("GET", "/rooms/", raw_auth=mauth(app_id, "appKey", timestamp=fixed - 3_600_000))
expect(status == 401, f"an hour-old timestamp was accepted: {status} {body}")
status, body, _ = send("GET", "/rooms/", raw_auth=mauth(app_id, "wrongKey"))
expect(status == 401, f"a bad signature was accepted: {status} {body}")
status, body, headers = send("GET", "/rooms/", raw_auth="MAuth realm=x,mauth_signature_method=HMAC_SHA1")
expect(status == 401 and "WWW-Authenticate" in json.loads(body), f"bad auth: {status} {body}")
expect(headers.get("WWW-Authenticate", "").startswith("MAuth"), f"no WWW-Authenticate header: {headers}")
status, body, _ = send("POST", f"/rooms/{room['_id']}/tokens", service=app)
expect((status, body) == (401, "Name and role?"), f"token without user: {status} {body}")

# Bad bodies: malformed JSON, a wrong type, and an oversize body
def send_raw(method, path, data, content_type="application/json"):
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", mauth(app_id, "appKey"))
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()

status, body = send_raw("POST", "/rooms", b'{"name": ')
expect((status, body) == (400, "Invalid JSON body"), f"malformed JSON: {status} {body}")
status, body = send_raw("POST", "/rooms", json.dumps({"name": 5}).encode())
expect((status, body) == (400, "Invalid room"), f"name of the wrong type: {status} {body}")
status, body = send_raw("POST", "/rooms", b'{"name":"' + b"x" * (2 << 20) + b'"}')
expect(status == 413, f"oversize body: {status} {body[:100]}")
status, body = send_raw("POST", "/rooms", b"name=form-room", "application/x-www-form-urlencoded")
expect(status == 200 and json.loads(body)["name"] == "form-room", f"urlencoded body: {status} {body}")
status, body, _ = send("GET", "/rooms/not-an-object-id", service=app)
expect((status, body) == (404, "Room does not exist"), f"bad ObjectId: {status} {body}")

# Clean up
status, body, _ = send("DELETE", "/rooms/" + room["_id"], service=app)
expect((status, body) == (200, "Room deleted"), f"delete room: {status} {body}")
status, body, _ = send("DELETE", "/services/" + app_id)
expect((status, body) == (200, "Service deleted"), f"delete service: {status} {body}")
print("OK")
