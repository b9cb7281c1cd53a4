import ArgumentParser
import ErizoCore
import ErizoRoleSupport
import Foundation
import MediaWorker

/// `erizo-bench load`: real WebRTC clients in this process (our ICE, DTLS client and SRTP on real
/// UDP sockets) against a running `erizo all` or cluster, signalled over WHIP/WHEP or over the
/// Socket.IO client protocol (mediasoup-signal). The worker's CPU comes from `/proc` for the
/// `erizo-worker` processes only; this process's own CPU is reported apart (docs/BENCHMARKS.md).
///
/// Scenarios:
/// - `fanout`: one publisher, subscribers added up to each step of N (1 → N);
/// - `rooms`: one N-party room, every peer publishing and playing every other peer, N in steps;
/// - `smallrooms`: N rooms of `--room-size` peers each, rooms added up to each step of N.
///
/// With `--signalling whep` a publisher is a WHIP session and every stream played is a WHEP
/// session of its own; with `socketio` a peer is one Socket.IO client with a send and a receive
/// transport, the receive one carrying every consumer the agent offers it.
///
/// Per step: the subscribers' received packets in a window of publisher packets, loss, one-way
/// added latency (p50/p99), forwarded packets/s, the workers' CPU µs per forwarded packet and
/// packets/s per core, the workers' memory. One JSON line per step goes to `--json` for the plot.
struct LoadBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "load", abstract: "Load a running Erizo with WHIP/WHEP clients and measure the media worker.")

  enum Scenario: String, ExpressibleByArgument, CaseIterable { case fanout, rooms, smallrooms }
  enum Signalling: String, ExpressibleByArgument, CaseIterable, Sendable { case whep, socketio }

  @Argument(help: "fanout (1 publisher → N subscribers), rooms (one N-party room) or smallrooms (N rooms).")
  var scenario: Scenario
  @Option(help: "whep (WHIP publishers, a WHEP session per stream) or socketio (mediasoup-signal clients).")
  var signalling = Signalling.whep
  @Option(help: "Peers per room in the smallrooms scenario.") var roomSize = 4
  @Flag(help: "Publishers send an Opus-sized audio stream (a packet per video packet, 10 ms frames) as well.")
  var audio = false
  @Option(help: "The controller's base URL (the demo endpoint must be on, as in `erizo all`).")
  var url = "http://127.0.0.1:8080/"
  @Option(help: "Steps of N (subscribers for fanout, peers per room for rooms).", transform: Self.list)
  var steps: [Int] = [10, 100, 300]
  @Option(help: "Video bitrate per publisher, kbit/s.") var kbps = 1000
  @Option(help: "RTP packet size, bytes.") var packetSize = 1200
  @Option(help: "Measured window per step, seconds.") var window = 5.0
  @Option(help: "Loss above which a step fails, percent.") var maxLoss = 1.0
  @Option(help: "Added p99 latency above which a step fails, ms.") var maxLatency = 100.0
  @Option(help: "Append one JSON object per step to this file.") var json: String?
  @Flag(help: "Go on past the first failing step.") var keepGoing = false

  static func list(_ text: String) throws -> [Int] {
    let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 >= 1 }) else { throw ValidationError("steps: a list like 10,100") }
    return values
  }

  func run() async throws {
    guard let base = URL(string: url.hasSuffix("/") ? url : url + "/") else { throw ValidationError("bad --url") }
    let rate = LoadLoop.Rate(
      packetsPerSecond: Double(kbps) * 1000 / Double(packetSize * 8), packetSize: packetSize)
    guard roomSize >= 2 else { throw ValidationError("--room-size: at least 2") }
    let run = LoadRun(
      http: ControllerHTTP(base: base), signalling: signalling, audio: audio, rate: rate, window: window)
    let audioNote = audio ? " + the same rate of \(SyntheticPeer.audioPacketSize) B audio packets" : ""
    print(
      "scenario \(scenario.rawValue) over \(signalling.rawValue): \(kbps) kbit/s video per publisher = \(Int(rate.packetsPerSecond)) packets/s of \(packetSize) B\(audioNote); window \(window) s"
    )
    let idle = try await run.measureIdle()
    print(String(format: "idle workers: %.2f %% of a core", idle * 100))
    print(LoadStep.header)
    var results: [LoadStep] = []
    for n in steps {
      let step: LoadStep
      do {
        switch scenario {
        case .fanout: step = try await run.fanout(subscribers: n)
        case .rooms: step = try await run.room(peers: n)
        case .smallrooms: step = try await run.smallRooms(n, size: roomSize)
        }
      } catch {
        await run.tearDown()
        throw error
      }
      results.append(step)
      print(step.row(maxLoss: maxLoss, maxLatency: maxLatency))
      if let json {
        try append(step.json(scenario: scenario.rawValue, signalling: signalling.rawValue, kbps: kbps), to: json)
      }
      if !step.passes(maxLoss: maxLoss, maxLatency: maxLatency) {
        print("step N=\(n) crosses the threshold (loss > \(maxLoss) % or p99 > \(maxLatency) ms)")
        if step.loadCPU / step.seconds > 0.9 {
          print("(the load tool used \(Int(step.loadCPU / step.seconds * 100)) % of a core: it is a limit too)")
        }
        if !keepGoing { break }
      }
    }
    await run.tearDown()
    if let best = results.last(where: { $0.passes(maxLoss: maxLoss, maxLatency: maxLatency) }) {
      print("largest passing step: N=\(best.n)")
    } else {
      print("no step passed")
    }
  }

  private func append(_ line: String, to path: String) throws {
    let data = Data((line + "\n").utf8)
    if let handle = FileHandle(forWritingAtPath: path) {
      defer { try? handle.close() }
      try handle.seekToEnd()
      try handle.write(contentsOf: data)
    } else {
      try data.write(to: URL(fileURLWithPath: path))
    }
  }
}

/// One measured step.
struct LoadStep {
  var n: Int
  /// Streams played: a WHEP session each, or a consumer each on Socket.IO receive transports.
  var subscribers: Int
  var publishers: Int
  var expected: Int
  var received: Int
  var seconds: Double
  var p50: Double
  var p99: Double
  var workerCPU: Double
  /// What the workers would have used idle over the window (subtracted for the per-packet cost).
  var idleWorkerCPU: Double
  var workerRSS: Int
  var loadCPU: Double

  var loss: Double { expected == 0 ? 0 : max(0, 1 - Double(received) / Double(expected)) * 100 }
  var forwardedPerSecond: Double { Double(received) / seconds }
  /// CPU per forwarded packet above the idle workers' own use.
  var microsecondsPerPacket: Double { received == 0 ? 0 : max(0, workerCPU - idleWorkerCPU) * 1e6 / Double(received) }
  var packetsPerCoreSecond: Double { microsecondsPerPacket == 0 ? 0 : 1e6 / microsecondsPerPacket }

  func passes(maxLoss: Double, maxLatency: Double) -> Bool { loss <= maxLoss && p99 <= maxLatency }

  static let header = """
    | N | publishers | streams played | forwarded pkt/s | loss % | added latency p50 / p99 ms | worker CPU % | worker µs/pkt above idle | pkt/s per worker core | worker RSS MiB | load tool CPU % |
    |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
    """

  func row(maxLoss: Double, maxLatency: Double) -> String {
    let mark = passes(maxLoss: maxLoss, maxLatency: maxLatency) ? "" : " ✘"
    return String(
      format: "| %d%@ | %d | %d | %.0f | %.2f | %.1f / %.1f | %.0f | %.2f | %.0f | %.0f | %.0f |", n, mark, publishers,
      subscribers, forwardedPerSecond, loss, p50, p99, workerCPU / seconds * 100, microsecondsPerPacket,
      packetsPerCoreSecond, Double(workerRSS) / 1_048_576, loadCPU / seconds * 100)
  }

  func json(scenario: String, signalling: String, kbps: Int) -> String {
    let value: JSONValue = [
      "scenario": .string(scenario), "signalling": .string(signalling), "n": .int(n), "kbps": .int(kbps),
      "publishers": .int(publishers),
      "subscribers": .int(subscribers), "forwardedPerSecond": .double(forwardedPerSecond), "lossPercent": .double(loss),
      "latencyP50Ms": .double(p50), "latencyP99Ms": .double(p99),
      "workerCPUPercent": .double(workerCPU / seconds * 100),
      "workerMicrosecondsPerPacket": .double(microsecondsPerPacket),
      "packetsPerCoreSecond": .double(packetsPerCoreSecond),
      "workerIdleCPUPercent": .double(idleWorkerCPU / seconds * 100), "workerRSSBytes": .int(workerRSS),
      "loadCPUPercent": .double(loadCPU / seconds * 100),
    ]
    return String(decoding: value.serialized(), as: UTF8.self)
  }
}

/// The peers and the measuring of one `erizo-bench load` run.
actor LoadRun {
  let http: ControllerHTTP
  let signalling: LoadBench.Signalling
  /// Publishers send audio too: every pair of peers carries two streams.
  let audio: Bool
  let rate: LoadLoop.Rate
  let window: Double
  private let loop: LoadLoop
  private let context: DtlsContext
  private var publisherRoom: String?
  /// Streams the subscribers should be receiving, and the publishers sending.
  private var streamCount = 0
  private var publisherCount = 0
  private var smallRoomCount = 0
  private var signals: [SocketIOSignal] = []
  private var tornDown = false
  /// The workers' CPU share with no peers at all (timers, polls), measured before the first step.
  private var idleWorkerShare = 0.0

  init(http: ControllerHTTP, signalling: LoadBench.Signalling, audio: Bool, rate: LoadLoop.Rate, window: Double) {
    self.http = http
    self.signalling = signalling
    self.audio = audio
    self.rate = rate
    self.window = window
    loop = LoadLoop(rate: rate)
    context = try! DtlsContext()
    loop.start()
  }

  /// The workers' CPU share before any peer exists, over 1 s windows: a worker still draining an
  /// earlier overloaded run (its sockets' queues) is waited for, up to `patience`, and the quietest
  /// window counts.
  func measureIdle(patience: Duration = .seconds(60), quiet: Double = 0.03) async throws -> Double {
    let deadline = ContinuousClock.now + patience
    var quietest = Double.infinity
    var windows = 0
    repeat {
      let before = WorkerProcesses.workersCPU()
      let started = ContinuousClock.now
      try await Task.sleep(for: .seconds(1))
      let share = (WorkerProcesses.workersCPU() - before) / ((ContinuousClock.now - started) / .seconds(1))
      quietest = min(quietest, share)
      windows += 1
    } while (quietest > quiet || windows < 2) && ContinuousClock.now < deadline
    idleWorkerShare = quietest
    return quietest
  }

  /// One publisher (made at the first step), subscribers added up to `subscribers`.
  func fanout(subscribers: Int) async throws -> LoadStep {
    if publisherRoom == nil {
      let room = "load-\(UUID().uuidString.prefix(8).lowercased())"
      switch signalling {
      case .whep: try await publish(room: room, name: "publisher")
      case .socketio: try await socketPeer(room: room, name: "publisher", publishes: true, plays: false)
      }
      publisherRoom = room
      publisherCount = 1
      try await waitFor("the publisher to connect") { self.loop.progress().publishers == 1 }
    }
    let room = publisherRoom!
    let kinds = audio ? 2 : 1
    let missing = subscribers - streamCount / kinds
    if missing > 0 {
      let first = streamCount / kinds
      try await inParallel(missing) { index in
        let name = "subscriber-\(first + index)"
        switch self.signalling {
        case .whep: try await self.play(room: room, peer: nil, name: name)
        case .socketio: try await self.socketPeer(room: room, name: name, publishes: false, plays: true)
        }
      }
      streamCount = subscribers * kinds
    }
    await waitForStreams(streamCount)
    return try await measure(n: subscribers, publishers: 1, subscribers: streamCount)
  }

  /// A new room of `peers` peers, each publishing and playing every other one; the previous
  /// step's room is closed first, so each step measures one room.
  func room(peers: Int) async throws -> LoadStep {
    try await closeEverySession()
    try await addRoom(peers: peers)
    return try await measure(n: peers, publishers: publisherCount, subscribers: streamCount)
  }

  /// Rooms of `size` peers added until there are `count`; the rooms of earlier steps go on.
  func smallRooms(_ count: Int, size: Int) async throws -> LoadStep {
    while smallRoomCount < count {
      let batch = min(count - smallRoomCount, 4)
      try await inParallel(batch) { _ in try await self.addRoom(peers: size) }
      smallRoomCount += batch
    }
    return try await measure(n: count, publishers: publisherCount, subscribers: streamCount)
  }

  /// Adds one room of `peers` peers, every peer playing every other, and waits for its media.
  private func addRoom(peers: Int) async throws {
    let room = "load-\(UUID().uuidString.prefix(8).lowercased())"
    switch signalling {
    case .whep:
      var roomID = ""
      for index in 0..<peers { roomID = try await publish(room: room, name: "peer-\(index)") }
      publisherCount += peers
      let target = publisherCount
      try await waitFor("\(peers) publishers to connect") { self.loop.progress().publishers >= target }
      let ids = try await http.publishers(roomID: roomID)
      guard ids.count == peers else { throw LoadError("the room lists \(ids.count) publishers, not \(peers)") }
      // Every peer plays every other: (peers − 1) sessions per publisher id (each with its audio).
      let sessions = ids.flatMap { id in Array(repeating: id, count: peers - 1) }
      try await inParallel(sessions.count) { index in
        try await self.play(room: room, peer: sessions[index], name: "player-\(index)")
      }
    case .socketio:
      try await inParallel(peers) { index in
        try await self.socketPeer(room: room, name: "peer-\(index)", publishes: true, plays: true)
      }
      publisherCount += peers
    }
    streamCount += peers * (peers - 1) * (audio ? 2 : 1)
    await waitForStreams(streamCount)
  }

  /// A WHIP publisher; returns the room's id.
  @discardableResult
  private func publish(room: String, name: String) async throws -> String {
    let (roomID, token) = try await http.token(room: room, name: name)
    let peer = try SyntheticPeer(direction: .send, audio: audio, context: context)
    let (answer, location) = try await http.exchange("whip", token: token, offer: peer.offer)
    try peer.apply(answer: answer)
    peer.location = location
    peer.checkConnectivity(now: .now)
    loop.add(peer)
    return roomID
  }

  private func play(room: String, peer: String?, name: String) async throws {
    let (_, token) = try await http.token(room: room, name: name)
    let player = try SyntheticPeer(direction: .receive, audio: audio, context: context)
    let path = peer.map { "whep?peer=\($0)" } ?? "whep"
    let (answer, location) = try await http.exchange(path, token: token, offer: player.offer)
    try player.apply(answer: answer)
    player.location = location
    player.checkConnectivity(now: .now)
    loop.add(player)
  }

  /// A mediasoup-signal client as pymediasoup or mediasoup-client is one (spec §4): `token`,
  /// the router's capabilities, a send and/or a receive transport, `join` (with the router's
  /// capabilities as its own), `connectWebRtcTransport` as the DTLS client, `produce` of the VP8
  /// stream. The agent's `newConsumer` offers are accepted by `SocketIOSignal`.
  private func socketPeer(room: String, name: String, publishes: Bool, plays: Bool) async throws {
    // A controller that just lost sight of its agent (one busy past its polls after an overloaded
    // step) answers 1005 for a moment; a client then tries again with a new token, as apps do.
    var attempt = 0
    let signal: SocketIOSignal
    while true {
      let (_, token) = try await http.token(room: room, name: name)
      let candidate = try await SocketIOSignal.connect(base: http.base)
      signals.append(candidate)
      let admitted = try await candidate.call("token", ["token": .string(token)])
      if admitted.first?.stringValue == "success" {
        signal = candidate
        break
      }
      attempt += 1
      candidate.close()
      let unplaced = admitted.count > 1 && admitted[1]["errcode"]?.intValue == 1005
      guard unplaced, attempt < 30 else {
        throw LoadError("token refused: \(String(decoding: JSONValue.array(admitted).serialized(), as: UTF8.self))")
      }
      try await Task.sleep(for: .seconds(1))
    }
    let capabilities = try await signal.request("getRouterRtpCapabilities", [:])
    var transports: [(peer: SyntheticPeer, id: String)] = []
    for direction in [SyntheticPeer.Direction.send, .receive] where direction == .send ? publishes : plays {
      let options = try await signal.request(
        "createWebRtcTransport",
        ["forceTcp": false, "producing": .bool(direction == .send), "consuming": .bool(direction == .receive)])
      guard let id = options["id"]?.stringValue else { throw LoadError("createWebRtcTransport: no id") }
      let peer = try SyntheticPeer(direction: direction, audio: audio, context: context)
      try peer.apply(transport: options)
      transports.append((peer, id))
    }
    _ = try await signal.request(
      "join",
      [
        "displayName": .string(name), "device": ["flag": "erizo-bench", "name": "erizo-bench", "version": "1"],
        "rtpCapabilities": capabilities,
      ])
    for (peer, id) in transports {
      _ = try await signal.request(
        "connectWebRtcTransport", ["transportId": .string(id), "dtlsParameters": peer.dtlsParameters])
      if peer.direction == .send {
        var streams: [(kind: String, parameters: JSONValue)] = [("video", SyntheticPeer.videoRtpParameters)]
        if audio { streams.append(("audio", SyntheticPeer.audioRtpParameters)) }
        for (kind, parameters) in streams {
          _ = try await signal.request(
            "produce",
            ["transportId": .string(id), "kind": .string(kind), "rtpParameters": parameters, "appData": [:]])
        }
      }
      peer.checkConnectivity(now: .now)
      loop.add(peer)
    }
  }

  /// Settles, then counts one window of publisher packets at every subscriber.
  private func measure(n: Int, publishers: Int, subscribers: Int) async throws -> LoadStep {
    try await Task.sleep(for: .seconds(1))
    let packets = UInt32(rate.packetsPerSecond * window)
    let first = loop.sent + UInt32(rate.packetsPerSecond * 0.2)
    loop.beginWindow(first..<(first + packets))
    // The CPU window matches the packet window: from its first packet to its last.
    try await Task.sleep(for: .seconds(0.2))
    let workersBefore = WorkerProcesses.workersCPU()
    let loadBefore = WorkerProcesses.selfCPU()
    let started = ContinuousClock.now
    try await Task.sleep(for: .seconds(window))
    let workersAfter = WorkerProcesses.workersCPU()
    let loadAfter = WorkerProcesses.selfCPU()
    let seconds = (ContinuousClock.now - started) / .seconds(1)
    try await Task.sleep(for: .milliseconds(500))  // the window's last packets arrive
    let (received, delays) = loop.windowResults()
    func percentile(_ fraction: Double) -> Double { Double(delays.percentile(fraction, empty: 0)) / 1000 }
    return LoadStep(
      n: n, subscribers: subscribers, publishers: publishers, expected: Int(packets) * subscribers, received: received,
      seconds: seconds, p50: percentile(0.5), p99: percentile(0.99),
      workerCPU: workersAfter - workersBefore, idleWorkerCPU: idleWorkerShare * seconds,
      workerRSS: WorkerProcesses.residentBytes(), loadCPU: loadAfter - loadBefore)
  }

  /// DELETEs every WHIP/WHEP session, closes every Socket.IO client, and forgets their peers.
  private func closeEverySession() async throws {
    let locations = loop.locations()
    try await inParallel(locations.count) { index in await self.http.delete(locations[index]) }
    for signal in signals { signal.close() }
    signals.removeAll()
    loop.removeAll()
    publisherCount = 0
    streamCount = 0
    smallRoomCount = 0
  }

  func tearDown() async {
    guard !tornDown else { return }
    tornDown = true
    try? await closeEverySession()
    loop.stop()
  }

  /// Runs `body(0..<count)` eight at a time.
  private func inParallel(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      var next = 0
      while next < min(8, count) {
        let index = next
        group.addTask { try await body(index) }
        next += 1
      }
      while try await group.next() != nil {
        guard next < count else { continue }
        let index = next
        group.addTask { try await body(index) }
        next += 1
      }
    }
  }

  /// Waits for media on `count` streams. A machine past its limit may never start some of them:
  /// after `timeout` the step is measured anyway and the missing streams count as lost.
  private func waitForStreams(_ count: Int, timeout: Duration = .seconds(30)) async {
    let deadline = ContinuousClock.now + timeout
    while loop.progress().receiving < count && ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(100))
    }
    let receiving = loop.progress().receiving
    if receiving < count { print("only \(receiving) of \(count) streams started; the others count as lost") }
  }

  private func waitFor(_ what: String, timeout: Duration = .seconds(60), _ condition: @Sendable () -> Bool) async throws
  {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
      guard ContinuousClock.now < deadline else { throw LoadError("timed out waiting for \(what): \(loop.progress())") }
      try await Task.sleep(for: .milliseconds(100))
    }
  }
}

/// CPU and memory of the `erizo-worker` processes, and of this process, from `/proc`. CPU time is
/// the sum of every thread's `schedstat` run time (nanoseconds, where `stat` counts 10 ms ticks).
enum WorkerProcesses {
  static func pids() -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry in
      guard let pid = Int32(entry),
        let name = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8),
        name.trimmingCharacters(in: .whitespacesAndNewlines) == "erizo-worker"
      else { return nil }
      return pid
    }
  }

  /// Seconds of CPU used so far by every thread of `pid`.
  static func cpuSeconds(_ pid: Int32) -> Double {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    let nanoseconds = tasks.compactMap { task -> UInt64? in
      guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8) else {
        return nil
      }
      return text.split(separator: " ").first.flatMap { UInt64($0) }
    }
    return Double(nanoseconds.reduce(0, +)) / 1e9
  }

  static func workersCPU() -> Double { pids().map(cpuSeconds).reduce(0, +) }
  static func selfCPU() -> Double { cpuSeconds(getpid()) }
  static func residentBytes() -> Int { pids().map { ProcessStats.residentBytes($0) }.reduce(0, +) }
}
