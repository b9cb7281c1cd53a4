#!/usr/bin/env python3
"""Load test of one `erizo controller`: N concurrent Engine.IO v4 WebSocket clients, each completing
the `token` handshake, with Nuve issuing the tokens and an agent double on RabbitMQ taking the rooms.

  socketio_load.py --nuve URL --superservice ID KEY --controller-port P --controller-pid PID \
                   --amqp amqp://guest:guest@127.0.0.1:5672/ --clients 5000

Prints a JSON line: clients connected, token latency p50/p99, the controller's RSS before and after,
and the memory per client. The clients are raw Engine.IO/Socket.IO over `websockets` (asyncio), so one
process holds thousands of them; they answer the server's pings while they wait.
"""
import argparse, asyncio, base64, hashlib, hmac, json, random, resource, statistics, threading, time
import urllib.request
import uuid

import pika
import websockets


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# The agent double: answers getErizoAgents and getMediasoupWork with the reference envelopes (spec §6).
def run_agent(url, stop):
    agent_id = str(uuid.uuid4())
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("rpcExchange", "direct", durable=False, auto_delete=True)
    channel.exchange_declare("broadcastExchange", "topic", durable=False, auto_delete=False)
    own = f"ErizoAgent_{agent_id}"
    channel.queue_declare(own, durable=False, auto_delete=True)
    channel.queue_bind(own, "rpcExchange", own)
    topic = channel.queue_declare("", durable=False, auto_delete=True).method.queue
    channel.queue_bind(topic, "broadcastExchange", "ErizoAgent")
    rooms = set()

    def reply(body, data):
        message = json.loads(body)
        reply_to, corr = message.get("replyTo"), message.get("corrID")
        if reply_to is None or corr is None:
            return
        channel.basic_publish("rpcExchange", reply_to, json.dumps({"data": data, "corrID": corr, "type": "callback"}),
                              pika.BasicProperties(content_type="application/json"))

    def on_message(_channel, _method, _properties, body):
        message = json.loads(body)
        method = message.get("method") or message.get("message", {}).get("method")
        args = message.get("args") or message.get("message", {}).get("args") or []
        if method == "getErizoAgents":
            reply(body, {"info": {"id": agent_id, "rpc_id": own, "ip": "127.0.0.1", "rooms": len(rooms), "state": 1},
                         "metadata": {}, "stats": {"perc_cpu": 0.0, "perc_mem": 0.0}})
        elif method == "getMediasoupWork":
            rooms.add(args[0])
            reply(body, {"roomId": args[0], "agentId": agent_id, "routerId": "router-" + args[0]})

    channel.basic_consume(own, on_message, auto_ack=True)
    channel.basic_consume(topic, on_message, auto_ack=True)
    while not stop.is_set():
        connection.process_data_events(time_limit=0.2)
    connection.close()


def mauth(service_id, key, user=None):
    timestamp, cnonce = int(time.time() * 1000), random.randint(0, 99998)
    to_sign = f"{timestamp},{cnonce}" + (f",{user},presenter" if user else "")
    header = "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1"
    if user:
        header += f",mauth_username={user},mauth_role=presenter"
    mac = base64.b64encode(hmac.new(key.encode(), to_sign.encode(), hashlib.sha1).hexdigest().encode()).decode()
    return header + f",mauth_serviceid={service_id},mauth_cnonce={cnonce},mauth_timestamp={timestamp},mauth_signature={mac}"


def nuve_post(args, path, body=None, user=None):
    request = urllib.request.Request(args.nuve + path, data=json.dumps(body or {}).encode(), method="POST")
    request.add_header("Authorization", mauth(*args.superservice, user))
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def make_tokens(args):
    tokens = []
    deadline = time.time() + 60
    while True:  # the controller registers with Nuve first
        try:
            room = json.loads(nuve_post(args, "/rooms/", {"name": "load-0"}))["_id"]
            tokens.append(nuve_post(args, f"/rooms/{room}/tokens/", user="u0"))
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    for i in range(1, args.clients):
        if i % args.per_room == 0:
            room = json.loads(nuve_post(args, "/rooms/", {"name": f"load-{i}"}))["_id"]
        tokens.append(nuve_post(args, f"/rooms/{room}/tokens/", user=f"u{i}"))
    return tokens


async def client(args, token, latencies, failures, connected, hold):
    url = f"ws://127.0.0.1:{args.controller_port}/socket.io/?EIO=4&transport=websocket"
    try:
        async with websockets.connect(url, max_size=2**20, ping_interval=None, open_timeout=60) as ws:
            assert (await ws.recv()).startswith("0")
            await ws.send("40")
            while not (await ws.recv()).startswith("40"):
                pass
            started = time.perf_counter()
            await ws.send('420["token",' + json.dumps({"token": token}) + "]")
            while True:
                message = await ws.recv()
                if message == "2":
                    await ws.send("3")
                elif message.startswith("430"):
                    break
            latencies.append(time.perf_counter() - started)
            if not message.startswith('430["success"'):
                failures.append(message[:120])
                return
            connected.append(1)
            while not hold.is_set():  # stay connected, answering pings, until measured
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=0.5)
                    if message == "2":
                        await ws.send("3")
                except asyncio.TimeoutError:
                    pass
    except Exception as error:
        failures.append(f"{type(error).__name__}: {error}"[:120])


async def main(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stop = threading.Event()
    agent = threading.Thread(target=run_agent, args=(args.amqp, stop), daemon=True)
    agent.start()
    time.sleep(4)  # two agent polls of the controller (every 2 s), so it knows the agent
    started = time.time()
    tokens = make_tokens(args)
    token_time = time.time() - started
    rss_before = rss_kib(args.controller_pid)
    latencies, failures, connected = [], [], []
    hold = asyncio.Event()
    # Ramp: start clients in waves of `concurrency`, each wave waits for its token answers.
    tasks = []
    connect_started = time.time()
    for start in range(0, len(tokens), args.concurrency):
        wave = [asyncio.ensure_future(client(args, token, latencies, failures, connected, hold))
                for token in tokens[start:start + args.concurrency]]
        tasks += wave
        target = min(len(tokens), start + args.concurrency)
        while len(latencies) + len(failures) < target:
            await asyncio.sleep(0.01)
    connect_time = time.time() - connect_started
    await asyncio.sleep(2)  # let the controller settle before reading its memory
    rss_after = rss_kib(args.controller_pid)
    hold.set()
    await asyncio.gather(*tasks)
    stop.set()
    latencies.sort()
    result = {
        "clients": args.clients, "connected": len(connected), "failures": len(failures),
        "failure_examples": failures[:3],
        "token_p50_ms": round(1000 * statistics.median(latencies), 2) if latencies else None,
        "token_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "controller_rss_before_kib": rss_before, "controller_rss_after_kib": rss_after,
        "kib_per_client": round((rss_after - rss_before) / max(1, len(connected)), 1),
        "tokens_made_s": round(token_time, 1), "connect_all_s": round(connect_time, 1),
        "concurrency": args.concurrency,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--nuve", required=True)
    parser.add_argument("--superservice", nargs=2, required=True)
    parser.add_argument("--controller-port", type=int, required=True)
    parser.add_argument("--controller-pid", type=int, required=True)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--per-room", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
