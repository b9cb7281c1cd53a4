internal import CEpoll
internal import ErizoCore
internal import Glibc

/// UDP sockets for the media engine, non-blocking and registered with the loop's epoll set.
public final class PosixSockets: MediaSockets {
  let epoll: Int32
  /// Datagrams that could not be sent at once (a full socket buffer) are dropped and counted, as
  /// an SFU should rather than queue media.
  public private(set) var sendDrops = 0

  init(epoll: Int32) { self.epoll = epoll }

  public func openUDP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { return nil }
    let fd = Glibc.socket(
      AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var size: Int32 = 1 << 21
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    // Start at a random port of the range, as mediasoup does, so restarts do not collide.
    let span = max(1, maxPort - minPort + 1)
    let first = Int.random(in: 0..<span)
    for step in 0..<span {
      let port = UInt16(minPort + (first + step) % span)
      address.sin_port = port.bigEndian
      let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      if bound == 0 {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = fd
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { break }
        return (Int(fd), port)
      }
    }
    Glibc.close(fd)
    return nil
  }

  public func send(socket: Int, to address: SocketAddress, bytes: UnsafeRawBufferPointer) {
    guard case .ipv4(let octets, let port) = address else { return }
    var target = sockaddr_in()
    target.sin_family = sa_family_t(AF_INET)
    target.sin_port = port.bigEndian
    target.sin_addr.s_addr =
      (UInt32(octets[0]) | UInt32(octets[1]) << 8 | UInt32(octets[2]) << 16 | UInt32(octets[3]) << 24)
    let sent = withUnsafePointer(to: &target) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(
          Int32(socket), bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0,
          socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if sent < 0 { sendDrops += 1 }
  }

  public func close(socket: Int) {
    _ = epoll_ctl(epoll, EPOLL_CTL_DEL, Int32(socket), nil)
    Glibc.close(Int32(socket))
  }
}

/// The worker process's one thread: epoll over the channel and every media socket, the engine's
/// timers as the wait timeout (media-worker spec §6, §9). Returns the exit code.
public enum WorkerLoop {
  static let channelIn: Int32 = 3
  static let channelOut: Int32 = 4

  public static func run(settings: WorkerSettings) -> Int32 {
    let epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
    guard epoll >= 0 else { return WorkerExitCode.failure.rawValue }
    var channelEvent = epoll_event()
    channelEvent.events = EPOLLIN.rawValue
    channelEvent.data.fd = channelIn
    guard epoll_ctl(epoll, EPOLL_CTL_ADD, channelIn, &channelEvent) == 0 else { return WorkerExitCode.failure.rawValue }
    let sockets = PosixSockets(epoll: epoll)
    let engine: MediaEngine
    do {
      engine = try MediaEngine(sockets: sockets, settings: settings)
    } catch {
      send(.log("Ecannot start the media engine: \(error)"))
      return WorkerExitCode.failure.rawValue
    }
    var core = WorkerCore(settings: settings, engine: engine)
    var decoder = ChannelFraming.Decoder()
    var channelBuffer = [UInt8](repeating: 0, count: 65_536)
    var packet = [UInt8](repeating: 0, count: 65_536)
    var events = [epoll_event](repeating: epoll_event(), count: 64)
    var from = sockaddr_in()
    send(core.runningNotification)
    var nextTick = ContinuousClock.now + .milliseconds(100)
    while true {
      let untilTick: Duration = nextTick - ContinuousClock.now
      let wait: Duration = max(Duration.zero, min(untilTick, engine.nextTimeout()))
      let milliseconds = Int32(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)
      let count = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, 64, milliseconds) }
      if count < 0, errno != EINTR { return WorkerExitCode.failure.rawValue }
      for index in 0..<max(0, Int(count)) {
        let fd = events[index].data.fd
        if fd == channelIn {
          let read = channelBuffer.withUnsafeMutableBytes { Glibc.read(channelIn, $0.baseAddress, $0.count) }
          if read == 0 { return WorkerExitCode.success.rawValue }  // the parent closed the channel
          if read < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            return WorkerExitCode.failure.rawValue
          }
          channelBuffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<read])) }
          do {
            while let payload = try decoder.next() {
              guard let message = try? ChannelMessage(payload: payload) else {
                send(.log("Ebad channel message"))
                continue
              }
              for reply in core.handle(message) { send(reply) }
              flush(engine)
              if core.closing { return WorkerExitCode.success.rawValue }
            }
          } catch {
            send(.log("Echannel framing error: \(error)"))
            return WorkerExitCode.failure.rawValue
          }
        } else {
          // Drain the socket: many datagrams per wake-up.
          while true {
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let received = packet.withUnsafeMutableBytes { buffer in
              withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                  recvfrom(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
                }
              }
            }
            guard received > 0 else { break }
            let address = from.sin_addr.s_addr  // network order in memory: a.b.c.d on a little-endian host
            let remote = SocketAddress.ipv4(
              [UInt8(address & 0xFF), UInt8(address >> 8 & 0xFF), UInt8(address >> 16 & 0xFF), UInt8(address >> 24)],
              port: UInt16(bigEndian: from.sin_port))
            packet.withUnsafeMutableBytes {
              engine.receive(
                socket: Int(fd), from: remote, packet: UnsafeMutableRawBufferPointer(rebasing: $0[..<received]),
                now: .now)
            }
          }
          flush(engine)
        }
      }
      let now = ContinuousClock.now
      if now >= nextTick || engine.nextTimeout() <= .milliseconds(1) {
        engine.tick(now: now)
        flush(engine)
        nextTick = now + .milliseconds(100)
      }
    }
  }

  private static func flush(_ engine: MediaEngine) {
    guard !engine.outbox.isEmpty else { return }
    for message in engine.outbox { send(message) }
    engine.outbox.removeAll(keepingCapacity: true)
  }

  /// Writes a whole frame to the parent; a broken pipe means the parent is gone.
  static func send(_ message: ChannelMessage) {
    let frame = message.frame
    var offset = 0
    while offset < frame.count {
      let written = frame[offset...].withUnsafeBytes { write(channelOut, $0.baseAddress, $0.count) }
      if written < 0 {
        if errno == EINTR { continue }
        exit(WorkerExitCode.failure.rawValue)
      }
      offset += written
    }
  }
}
