"""Drives an erizo-worker as its parent does: the channel on fds 3 (to the worker) and 4 (from it),
4-byte little-endian length + JSON. Prints one JSON line with what the worker answered and its exit
status after the parent closes the channel. Usage: worker_channel.py WORKER_BINARY"""
import json, os, struct, subprocess, sys

to_worker_r, to_worker_w = os.pipe()
from_worker_r, from_worker_w = os.pipe()


def child_fds():
    os.dup2(to_worker_r, 3)
    os.dup2(from_worker_w, 4)


worker = subprocess.Popen([sys.argv[1], "--logLevel=warn"], env={"MEDIASOUP_VERSION": "3.14.16"},
                          preexec_fn=child_fds, pass_fds=(3, 4))
os.close(to_worker_r)
os.close(from_worker_w)
reader = os.fdopen(from_worker_r, "rb")


def receive():
    header = reader.read(4)
    (length,) = struct.unpack("<I", header)
    return json.loads(reader.read(length))


def request(id, method, data=None, handler=""):
    payload = json.dumps({"id": id, "method": method, "handlerId": handler, "data": data or {}}).encode()
    os.write(to_worker_w, struct.pack("<I", len(payload)) + payload)
    return receive()


result = {"running": receive()}
result["create"] = request(1, "worker.createRouter", {"routerId": "r1"})
result["duplicate"] = request(2, "worker.createRouter", {"routerId": "r1"})
result["dump"] = request(3, "worker.dump")
# Two requests in one write, the second split from its length prefix by nothing.
both = b""
for id, method, handler in [(4, "router.dump", "r1"), (5, "nope.method", "")]:
    payload = json.dumps({"id": id, "method": method, "handlerId": handler, "data": {}}).encode()
    both += struct.pack("<I", len(payload)) + payload
os.write(to_worker_w, both)
result["router_dump"] = receive()
result["unknown"] = receive()
os.close(to_worker_w)  # the parent goes away: the worker exits 0
result["exit"] = worker.wait(timeout=10)
print(json.dumps(result))
