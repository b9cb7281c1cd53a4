internal import CEpoll
internal import ErizoCore
internal import Glibc

/// The media engine's sockets — UDP sockets, TCP listeners and accepted TCP connections — all
/// non-blocking and registered with the loop's epoll set.
public final class PosixSockets: MediaSockets {
  enum Kind {
    case udp
    case listener
    case connection
  }

  /// An accepted connection: its frame reader, its peer, and what could not be written yet.
  final class Connection {
    var reader = TcpFrameReader()
    let remote: SocketAddress
    var unsent: [UInt8] = []
    var writable = true

    init(remote: SocketAddress) { self.remote = remote }
  }

  /// The most bytes a TCP connection may hold unsent before whole packets are dropped instead.
  static let unsentLimit = 1 << 20
  /// The most TCP connections the worker keeps open; more are closed as they arrive.
  static let connectionLimit = 4_096

  let epoll: Int32
  private(set) var kinds: [Int32: Kind] = [:]
  private let batch = DatagramBatch()
  private var connections: [Int32: Connection] = [:]
  /// Packets that could not be sent at once (a full socket buffer) are dropped and counted, as an
  /// SFU should rather than queue media.
  public private(set) var sendDrops = 0

  init(epoll: Int32) { self.epoll = epoll }

  public func openUDP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)? {
    open(type: SOCK_DGRAM, ip: ip, minPort: minPort, maxPort: maxPort)
  }

  public func openTCP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)? {
    open(type: SOCK_STREAM, ip: ip, minPort: minPort, maxPort: maxPort)
  }

  private func open(type: __socket_type, ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    guard inet_pton(AF_INET, ip, &address.sin_addr) == 1 else { return nil }
    let fd = Glibc.socket(AF_INET, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    var size: Int32 = 1 << 21
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    if type == SOCK_STREAM {
      // A restarted worker must get its single port back while old connections sit in TIME_WAIT.
      var on: Int32 = 1
      _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
    }
    // Start at a random port of the range, as mediasoup does, so restarts do not collide.
    let span = max(1, maxPort - minPort + 1)
    let first = Int.random(in: 0..<span)
    for step in 0..<span {
      let port = UInt16(minPort + (first + step) % span)
      address.sin_port = port.bigEndian
      let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
      guard bound == 0 else { continue }
      if type == SOCK_STREAM, listen(fd, 128) != 0 { break }
      guard watch(fd, kind: type == SOCK_STREAM ? .listener : .udp) else { break }
      return (Int(fd), port)
    }
    Glibc.close(fd)
    return nil
  }

  private func watch(_ fd: Int32, kind: Kind) -> Bool {
    var event = epoll_event()
    event.events = EPOLLIN.rawValue
    event.data.fd = fd
    guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { return false }
    kinds[fd] = kind
    return true
  }

  /// Accepts every pending connection on a listener; `accepted` says whether to keep each.
  func acceptAll(_ listener: Int32, _ accepted: (Int32, SocketAddress) -> Bool) {
    while true {
      var from = sockaddr_in()
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      let fd = withUnsafeMutablePointer(to: &from) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          accept4(listener, $0, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
        }
      }
      if fd < 0 {
        if errno == EINTR || errno == ECONNABORTED { continue }
        return  // EAGAIN: none left (or an error the next wake-up will see again)
      }
      var on: Int32 = 1
      _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
      let remote = Self.address(from)
      guard connections.count < Self.connectionLimit, watch(fd, kind: .connection), accepted(fd, remote) else {
        close(socket: Int(fd))
        continue
      }
      connections[fd] = Connection(remote: remote)
    }
  }

  /// Reads what a connection has and hands each whole packet to `packet`; false when the connection
  /// ended (closed by the peer or broken) and should be closed.
  func read(_ fd: Int32, _ packet: (SocketAddress, UnsafeMutableRawBufferPointer) -> Void) -> Bool {
    guard let connection = connections[fd] else { return false }
    while true {
      let count = connection.reader.fill { Glibc.recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
      if count == 0 { return false }
      if count < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
      connection.reader.frames { packet(connection.remote, $0) }
    }
  }

  /// The socket became writable again: sends what was held back.
  func sendHeldBack(_ fd: Int32) -> Bool {
    guard let connection = connections[fd] else { return false }
    guard !connection.unsent.isEmpty else { return true }
    let written = connection.unsent.withUnsafeBytes {
      Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
    }
    if written < 0 { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR }
    connection.unsent.removeFirst(written)
    if connection.unsent.isEmpty { setWritableInterest(fd, connection, false) }
    return true
  }

  private func setWritableInterest(_ fd: Int32, _ connection: Connection, _ wanted: Bool) {
    guard connection.writable == !wanted else { return }
    connection.writable = !wanted
    var event = epoll_event()
    event.events = EPOLLIN.rawValue | (wanted ? EPOLLOUT.rawValue : 0)
    event.data.fd = fd
    _ = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
  }

  /// A TCP connection's packet goes at once (framed); a UDP datagram joins the batch that
  /// `flush()` sends, copied (the caller's buffer is reused for the next one).
  public func send(socket: Int, to address: SocketAddress, bytes: UnsafeRawBufferPointer) {
    if !connections.isEmpty, let connection = connections[Int32(socket)] {
      sendFramed(Int32(socket), connection, bytes)
      return
    }
    guard let ipv4 = address.ipv4Address else {
      sendDrops += 1  // the worker listens on IPv4 only
      return
    }
    guard !batch.add(socket: Int32(socket), address: ipv4, port: address.port, bytes: bytes) else { return }
    flush()  // full, or larger than a slot (a jumbo packet forwarded as it came): after the queued ones
    if !batch.add(socket: Int32(socket), address: ipv4, port: address.port, bytes: bytes) {
      sendDirect(Int32(socket), address: ipv4, port: address.port, bytes: bytes)
    }
  }

  private func sendDirect(_ fd: Int32, address: UInt32, port: UInt16, bytes: UnsafeRawBufferPointer) {
    var target = sockaddr_in()
    target.sin_family = sa_family_t(AF_INET)
    target.sin_port = port.bigEndian
    target.sin_addr.s_addr = address.bigEndian
    let sent = withUnsafePointer(to: &target) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    if sent < 0 { sendDrops += 1 }
  }

  /// Sends the batched datagrams: one `sendmmsg` per run of datagrams on the same socket (in
  /// single-port mode, a whole fan-out in one system call). What the kernel does not take at once
  /// (a full socket buffer) is dropped and counted.
  public func flush() {
    sendDrops += batch.send()
  }

  /// One packet on a TCP connection, with its 2-byte length. Whatever the kernel does not take is
  /// kept (up to `unsentLimit`) and sent when the socket is writable, so frames are never cut.
  private func sendFramed(_ fd: Int32, _ connection: Connection, _ bytes: UnsafeRawBufferPointer) {
    guard let (high, low) = TcpFrameReader.header(for: bytes.count) else {
      sendDrops += 1
      return
    }
    if !connection.unsent.isEmpty {
      guard connection.unsent.count + 2 + bytes.count <= Self.unsentLimit else {
        sendDrops += 1
        return
      }
      connection.unsent.append(high)
      connection.unsent.append(low)
      connection.unsent.append(contentsOf: bytes)
      return
    }
    var header = (high, low)
    let written = withUnsafeMutableBytes(of: &header) { head -> Int in
      var parts = [
        iovec(iov_base: head.baseAddress, iov_len: 2),
        iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count),
      ]
      return parts.withUnsafeMutableBufferPointer { vector in
        var message = msghdr()
        message.msg_iov = vector.baseAddress
        message.msg_iovlen = 2
        return Glibc.sendmsg(fd, &message, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
      }
    }
    let total = 2 + bytes.count
    if written == total { return }
    if written < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
      sendDrops += 1  // broken; the read side sees the end and closes it
      return
    }
    let done = max(0, written)
    if done < 2 { connection.unsent.append(contentsOf: [high, low][done...]) }
    connection.unsent.append(contentsOf: bytes[max(0, done - 2)...])
    setWritableInterest(fd, connection, true)
  }

  public func close(socket: Int) {
    flush()  // nothing queued may go out on a descriptor that is closed (or reused)
    let fd = Int32(socket)
    _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
    kinds[fd] = nil
    connections[fd] = nil
    Glibc.close(fd)
  }

  static func address(_ from: sockaddr_in) -> SocketAddress {
    .ipv4(address: UInt32(bigEndian: from.sin_addr.s_addr), port: UInt16(bigEndian: from.sin_port))
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
    var heapKeeper = HeapKeeper()
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
              sockets.flush()
              forwardOutbox(engine)
              if core.closing { return WorkerExitCode.success.rawValue }
            }
          } catch {
            send(.log("Echannel framing error: \(error)"))
            return WorkerExitCode.failure.rawValue
          }
        } else {
          switch sockets.kinds[fd] {
          case .udp?:
            drain(fd, engine: engine, sockets: sockets, packet: &packet, from: &from)
          case .listener?:
            sockets.acceptAll(fd) { engine.tcpAccepted(connection: Int($0), listener: Int(fd), from: $1) }
          case .connection?:
            let flags = events[index].events
            var open = flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) == 0 || flags & EPOLLIN.rawValue != 0
            if open, flags & EPOLLOUT.rawValue != 0 { open = sockets.sendHeldBack(fd) }
            if open {
              open = sockets.read(fd) { remote, frame in
                engine.receive(socket: Int(fd), from: remote, packet: frame, now: .now)
              }
            }
            if !open {
              sockets.close(socket: Int(fd))
              engine.tcpClosed(connection: Int(fd))
            }
          case nil:
            break  // closed earlier in this round
          }
          sockets.flush()
          forwardOutbox(engine)
        }
      }
      let now = ContinuousClock.now
      if now >= nextTick || engine.nextTimeout() <= .milliseconds(1) {
        engine.tick(now: now)
        sockets.flush()
        forwardOutbox(engine)
        heapKeeper.check(closedTransports: engine.counters.closedTransports, now: now)
        nextTick = now + .milliseconds(100)
      }
    }
  }

  /// Reads every datagram a UDP socket has (many per wake-up); what each one makes the engine send
  /// (a whole fan-out) goes out in one batch.
  private static func drain(
    _ fd: Int32, engine: MediaEngine, sockets: PosixSockets, packet: inout [UInt8], from: inout sockaddr_in
  ) {
    while true {
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      let received = packet.withUnsafeMutableBytes { buffer in
        withUnsafeMutablePointer(to: &from) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            recvfrom(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
          }
        }
      }
      guard received > 0 else { return }
      let remote = PosixSockets.address(from)
      packet.withUnsafeMutableBytes {
        engine.receive(
          socket: Int(fd), from: remote, packet: UnsafeMutableRawBufferPointer(rebasing: $0[..<received]), now: .now)
      }
      sockets.flush()
    }
  }

  /// Sends the engine's notifications and logs to the parent.
  private static func forwardOutbox(_ engine: MediaEngine) {
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
