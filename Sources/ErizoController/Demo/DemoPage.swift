/// The demo page: plain HTML and JavaScript written here, no build step and no third-party code.
/// It publishes the camera and microphone over WHIP, plays every other publisher of the room over
/// WHEP (`?peer=`), polls the room's publishers every second, and leaves with DELETE.
/// `window.erizoDemo.stats()` reports what each remote video and audio decoded (for tests).
enum DemoPage {
  static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Erizo demo room</title>
    <style>
      body { font: 15px system-ui, sans-serif; margin: 0; background: #14171c; color: #e8eaed; }
      header { display: flex; gap: 12px; align-items: center; padding: 12px 18px; background: #1f242c; }
      header h1 { font-size: 18px; margin: 0 12px 0 0; }
      input { background: #2a303a; color: inherit; border: 1px solid #3b4350; border-radius: 4px; padding: 6px 8px; }
      button { background: #2d7ff9; color: white; border: 0; border-radius: 4px; padding: 7px 14px; cursor: pointer; }
      button#leave { background: #d93f3f; }
      #status { margin-left: auto; color: #9aa3ad; }
      #grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 12px; padding: 18px; }
      figure { margin: 0; background: #000; border-radius: 6px; overflow: hidden; position: relative; }
      video { width: 100%; aspect-ratio: 16 / 9; display: block; background: #000; object-fit: cover; }
      figcaption { position: absolute; left: 8px; bottom: 6px; background: #000a; padding: 2px 8px; border-radius: 3px; }
    </style>
    </head>
    <body>
    <header>
      <h1>Erizo</h1>
      <form id="join">
        <label>Room <input id="room" value="demo" maxlength="64" required></label>
        <label>Name <input id="name" maxlength="32" required></label>
        <button type="submit">Join</button>
      </form>
      <button id="leave" hidden>Leave</button>
      <span id="status">not connected</span>
    </header>
    <main id="grid"></main>
    <script>
    "use strict";
    const $ = (id) => document.getElementById(id);
    $("name").value = "guest-" + Math.floor(Math.random() * 1000);
    const room = { id: null, stream: null, whip: null, remotes: new Map(), timer: null };

    function status(text) { $("status").textContent = text; }

    function tile(id, label, muted) {
      const figure = document.createElement("figure");
      figure.id = "tile-" + id;
      const video = document.createElement("video");
      video.autoplay = true; video.playsInline = true; video.muted = muted;
      const caption = document.createElement("figcaption");
      caption.textContent = label;
      figure.append(video, caption);
      $("grid").append(figure);
      return video;
    }

    async function token() {
      const response = await fetch("/demo/token", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ room: $("room").value.trim(), name: $("name").value.trim() }) });
      if (!response.ok) throw new Error("token: " + await response.text());
      return response.json();
    }

    // One WHIP or WHEP exchange: our offer, the server's answer, and the resource to DELETE later.
    async function negotiate(pc, url, bearer) {
      await pc.setLocalDescription(await pc.createOffer());
      const response = await fetch(url, { method: "POST", body: pc.localDescription.sdp,
        headers: { "Content-Type": "application/sdp", "Authorization": "Bearer " + bearer } });
      if (response.status !== 201) { const error = new Error(await response.text()); error.status = response.status; throw error; }
      await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
      return response.headers.get("Location");
    }

    async function play(peer) {
      const entry = { pc: new RTCPeerConnection(), resource: null, video: tile(peer.id, peer.displayName, false) };
      room.remotes.set(peer.id, entry);
      const stream = new MediaStream();
      entry.video.srcObject = stream;
      entry.pc.ontrack = (event) => stream.addTrack(event.track);
      entry.pc.addTransceiver("video", { direction: "recvonly" });
      entry.pc.addTransceiver("audio", { direction: "recvonly" });
      try {
        const { token: bearer } = await token();
        entry.resource = await negotiate(entry.pc, "/whep?peer=" + encodeURIComponent(peer.id), bearer);
      } catch (error) {
        stop(peer.id);  // 409: not publishing yet; the next poll tries again
        if (error.status !== 409) console.warn("WHEP", error);
      }
    }

    function stop(id) {
      const entry = room.remotes.get(id);
      if (!entry) return;
      room.remotes.delete(id);
      entry.pc.close();
      if (entry.resource) fetch(entry.resource, { method: "DELETE" }).catch(() => {});
      const figure = $("tile-" + id);
      if (figure) figure.remove();
    }

    async function poll() {
      if (!room.id) return;
      try {
        const response = await fetch("/demo/rooms/" + encodeURIComponent(room.id) + "/publishers");
        const { publishers } = await response.json();
        const mine = room.whip ? room.whip.resource.split("/").pop() : null;
        const present = new Set(publishers.map((p) => p.id));
        for (const peer of publishers) if (peer.id !== mine && !room.remotes.has(peer.id)) play(peer);
        for (const id of [...room.remotes.keys()]) if (!present.has(id)) stop(id);
        status("in room " + $("room").value + ": " + (present.size) + " publishing");
      } catch (error) { status("room list: " + error.message); }
    }

    $("join").onsubmit = async (event) => {
      event.preventDefault();
      try {
        status("asking for camera and microphone…");
        room.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
        tile("me", $("name").value + " (you)", true).srcObject = room.stream;
        const { roomId, token: bearer } = await token();
        room.id = roomId;
        const pc = new RTCPeerConnection();
        for (const track of room.stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [room.stream] });
        room.whip = { pc, resource: await negotiate(pc, "/whip", bearer) };
        $("join").hidden = true; $("leave").hidden = false;
        room.timer = setInterval(poll, 1000);
        poll();
      } catch (error) { status("could not join: " + error.message); }
    };

    $("leave").onclick = () => {
      clearInterval(room.timer);
      for (const id of [...room.remotes.keys()]) stop(id);
      if (room.whip) { room.whip.pc.close(); fetch(room.whip.resource, { method: "DELETE" }).catch(() => {}); }
      if (room.stream) room.stream.getTracks().forEach((track) => track.stop());
      const me = $("tile-me"); if (me) me.remove();
      Object.assign(room, { id: null, stream: null, whip: null });
      $("join").hidden = false; $("leave").hidden = true;
      status("left");
    };
    window.addEventListener("pagehide", () => { if (room.id) $("leave").onclick(); });

    // "udp" or "tcp": the local candidate of the selected ICE pair.
    async function protocol(pc) {
      const reports = await pc.getStats();
      let pair = null;
      reports.forEach((report) => { if (report.type === "transport" && report.selectedCandidatePairId) pair = reports.get(report.selectedCandidatePairId); });
      const local = pair ? reports.get(pair.localCandidateId) : null;
      return local ? local.protocol : null;
    }

    window.erizoDemo = {
      room,
      // Per remote: what it decoded, and over which protocol its selected ICE pair runs.
      async stats() {
        const result = [];
        for (const [id, entry] of room.remotes) {
          const item = { id, framesDecoded: 0, audioPacketsReceived: 0, protocol: await protocol(entry.pc) };
          (await entry.pc.getStats()).forEach((report) => {
            if (report.type !== "inbound-rtp") return;
            if (report.kind === "video") item.framesDecoded += report.framesDecoded || 0;
            if (report.kind === "audio") item.audioPacketsReceived += report.packetsReceived || 0;
          });
          result.push(item);
        }
        return result;
      },
      // The publishing connection: its ICE protocol and the sender's bandwidth estimate (bits/s),
      // which grows only when the server answers transport-cc.
      async publishStats() {
        if (!room.whip) return null;
        const reports = await room.whip.pc.getStats();
        let available = null;
        reports.forEach((report) => {
          if (report.type === "transport" && report.selectedCandidatePairId) {
            available = reports.get(report.selectedCandidatePairId).availableOutgoingBitrate ?? null;
          }
        });
        return { protocol: await protocol(room.whip.pc), availableOutgoingBitrate: available };
      },
    };
    </script>
    </body>
    </html>
    """#
}
