"""A scripted Socket.IO client for the controller tests.

Runs with python-socketio 5 (Engine.IO v4) or python-socketio 4 + python-engineio 3 (Engine.IO v3,
the socket.io 2.x protocol). Reads one JSON command per line on stdin and answers one JSON line on
stdout, so a test can drive a real client step by step:

  {"op": "connect", "url": "http://127.0.0.1:8080", "transports": ["websocket"]}
  {"op": "call", "event": "token", "data": {...}, "timeout": 15}   -> {"ack": [status, payload]}
  {"op": "emit", "event": "join"}                                  -> {"ok": true} (no ack asked)
  {"op": "ack_policy", "event": "newConsumer", "reply": ["success", {"data": {}}]}  (null: never ack)
  {"op": "events"}                                                 -> {"events": [[name, data], ...]}
  {"op": "state"}                  -> {"connected": bool, "transport": "websocket"|"polling"}
  {"op": "disconnect"}             clean Socket.IO disconnect
  {"op": "drop"}                   dies at once: the TCP connection closes without a close frame
"""
import json
import os
import signal
import sys
import threading
import time

import socketio

PUSHED = [
    "newPeer", "peerClosed", "newConsumer", "newDataConsumer", "producerScore", "consumerScore",
    "consumerClosed", "consumerPaused", "consumerResumed", "consumerLayersChanged", "dataConsumerClosed",
    "activeSpeaker", "downlinkBwe",
]

sio = socketio.Client(reconnection=False)
events = []
lock = threading.Lock()
ack_policy = {}
disconnected = threading.Event()


def make_handler(name):
    def handler(data=None):
        with lock:
            events.append([name, data])
        if name in ack_policy:
            reply = ack_policy[name]
            if reply is None:
                time.sleep(3600)  # never acknowledge
            return tuple(reply)
        return None

    return handler


for name in PUSHED:
    sio.on(name, make_handler(name))


@sio.on("disconnect")
def on_disconnect(*args):
    disconnected.set()


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def run(command):
    op = command["op"]
    if op == "connect":
        sio.connect(command["url"], transports=command.get("transports", ["websocket"]),
                    headers=command.get("headers", {}))
        deadline = time.time() + 10
        while command.get("wait_upgrade") and sio.transport() != "websocket" and time.time() < deadline:
            time.sleep(0.05)
        return {"connected": sio.connected, "transport": sio.transport()}
    if op == "call":
        try:
            result = sio.call(command["event"], command.get("data"), timeout=command.get("timeout", 15))
        except socketio.exceptions.TimeoutError:
            return {"timeout": True}
        if not isinstance(result, tuple):
            result = [result]
        return {"ack": list(result)}
    if op == "emit":
        sio.emit(command["event"], command.get("data"))
        return {"ok": True}
    if op == "ack_policy":
        ack_policy[command["event"]] = command.get("reply")
        return {"ok": True}
    if op == "events":
        deadline = time.time() + command.get("wait", 0)
        want = command.get("until")
        while True:
            with lock:
                names = [e[0] for e in events]
            if want is None or want in names or time.time() >= deadline:
                break
            time.sleep(0.05)
        with lock:
            return {"events": list(events)}
    if op == "state":
        if command.get("wait_disconnect"):
            disconnected.wait(command["wait_disconnect"])
        return {"connected": sio.connected and not disconnected.is_set(),
                "transport": sio.transport() if sio.connected else None}
    if op == "disconnect":
        sio.disconnect()
        return {"ok": True}
    if op == "drop":
        # The way a crashed browser goes: the process dies, the kernel closes its sockets, no
        # WebSocket close frame is sent.
        answer({"ok": True})
        os.kill(os.getpid(), signal.SIGKILL)
    return {"error": "unknown op " + op}


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        answer(run(json.loads(line)))
    except Exception as error:  # the test reads the failure as a value
        answer({"error": "%s: %s" % (type(error).__name__, error)})
