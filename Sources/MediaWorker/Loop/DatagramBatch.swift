internal import CEpoll
internal import Glibc

/// UDP datagrams waiting to go out together (media-worker spec §6: `sendmmsg` per fan-out). Slots,
/// addresses and message headers are allocated once, so batching allocates nothing per packet;
/// each datagram is copied into its slot (the engine reuses its buffer for the next one).
final class DatagramBatch {
  static let capacity = 64
  /// Larger than what the worker sends on ordinary paths: RTP as received (a 1 500-byte MTU) plus
  /// the SRTP tag, DTLS flights of at most 1 350 bytes, STUN, RTCP compounds split near 1 000 bytes.
  /// A larger datagram (a jumbo-frame network) goes out on its own (`PosixSockets.send`).
  static let slotSize = 1_536

  private let storage: UnsafeMutableRawPointer
  private let headers: UnsafeMutablePointer<erizo_mmsghdr>
  private let vectors: UnsafeMutablePointer<iovec>
  private let addresses: UnsafeMutablePointer<sockaddr_in>
  private let sockets: UnsafeMutablePointer<Int32>
  private(set) var count = 0
  /// `sendmmsg` calls made and datagrams they carried, for the loop's statistics.
  private(set) var systemCalls = 0
  private(set) var datagrams = 0

  init() {
    storage = .allocate(byteCount: Self.capacity * Self.slotSize, alignment: 16)
    headers = .allocate(capacity: Self.capacity)
    vectors = .allocate(capacity: Self.capacity)
    addresses = .allocate(capacity: Self.capacity)
    sockets = .allocate(capacity: Self.capacity)
    for index in 0..<Self.capacity {
      vectors[index] = iovec(iov_base: storage + index * Self.slotSize, iov_len: 0)
      addresses[index] = sockaddr_in()
      var header = erizo_mmsghdr()
      header.msg_hdr.msg_name = UnsafeMutableRawPointer(addresses + index)
      header.msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_in>.size)
      header.msg_hdr.msg_iov = vectors + index
      header.msg_hdr.msg_iovlen = 1
      headers[index] = header
    }
  }

  deinit {
    storage.deallocate()
    headers.deallocate()
    vectors.deallocate()
    addresses.deallocate()
    sockets.deallocate()
  }

  /// Queues a datagram to `address:port` (IPv4, host order) on `socket`; false when the batch is
  /// full or the datagram does not fit a slot.
  func add(socket: Int32, address: UInt32, port: UInt16, bytes: UnsafeRawBufferPointer) -> Bool {
    guard count < Self.capacity, bytes.count <= Self.slotSize else { return false }
    if let base = bytes.baseAddress { vectors[count].iov_base.copyMemory(from: base, byteCount: bytes.count) }
    vectors[count].iov_len = bytes.count
    addresses[count].sin_family = sa_family_t(AF_INET)
    addresses[count].sin_port = port.bigEndian
    addresses[count].sin_addr.s_addr = address.bigEndian
    sockets[count] = socket
    count += 1
    return true
  }

  /// Sends everything queued, one `sendmmsg` per run of datagrams on the same socket, and empties
  /// the batch; returns how many datagrams were dropped (a full socket buffer drops the rest of its
  /// run; another error drops the datagram it names).
  func send() -> Int {
    var drops = 0
    var start = 0
    while start < count {
      let socket = sockets[start]
      var end = start + 1
      while end < count, sockets[end] == socket { end += 1 }
      var next = start
      while next < end {
        let sent = erizo_sendmmsg(socket, headers + next, UInt32(end - next), Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
        systemCalls += 1
        if sent > 0 {
          next += Int(sent)
          datagrams += Int(sent)
          continue
        }
        if sent < 0, errno == EINTR { continue }
        if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
          drops += end - next
          break
        }
        drops += 1  // this datagram's own error (an unreachable address, say): skip it
        next += 1
      }
      start = end
    }
    count = 0
    return drops
  }
}
