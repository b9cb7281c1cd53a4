/// RFC 4571 framing for ICE-TCP (media-worker spec §4.2): every STUN, DTLS, RTP or RTCP packet on
/// a TCP connection is preceded by its length as a 2-byte big-endian number. Sans-IO: the loop
/// reads into `freeSpace` and takes whole frames out; zero-length frames are skipped.
///
/// The buffer holds one largest frame (2 + 65 535 bytes) and is allocated once per connection.
public struct TcpFrameReader {
  public static let capacity = 2 + 65_535 + 4_096
  private var buffer: [UInt8]
  private var start = 0
  private var end = 0

  public init() { buffer = [UInt8](repeating: 0, count: Self.capacity) }

  /// Bytes received but not yet returned as a frame.
  public var pending: Int { end - start }

  /// Lets `read` fill the free space after the pending bytes; `read` returns how many it wrote (or
  /// a negative value for an error, which is passed back untouched).
  public mutating func fill(_ read: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
    if start > 0 {
      // Move a partial frame to the front, so the whole capacity is free behind it.
      if start < end {
        buffer.withUnsafeMutableBytes { bytes in
          bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + start, byteCount: end - start)
        }
      }
      end -= start
      start = 0
    }
    let count = buffer.withUnsafeMutableBytes { read(UnsafeMutableRawBufferPointer(rebasing: $0[end...])) }
    if count > 0 { end += min(count, Self.capacity - end) }
    return count
  }

  /// Calls `body` with each complete frame's payload (in place, writable: SRTP decrypts in place).
  /// The payload is only valid during the call.
  public mutating func frames(_ body: (UnsafeMutableRawBufferPointer) -> Void) {
    while end - start >= 2 {
      let length = buffer.withUnsafeBytes { Int($0[start]) << 8 | Int($0[start + 1]) }
      guard end - start >= 2 + length else { return }
      let payloadStart = start + 2
      start = payloadStart + length
      if length == 0 { continue }
      buffer.withUnsafeMutableBytes {
        body(UnsafeMutableRawBufferPointer(rebasing: $0[payloadStart..<payloadStart + length]))
      }
    }
    if start == end {
      start = 0
      end = 0
    }
  }

  /// The 2-byte header to put before a payload of `count` bytes; nil above 65 535 bytes.
  public static func header(for count: Int) -> (UInt8, UInt8)? {
    guard (0...65_535).contains(count) else { return nil }
    return (UInt8(count >> 8), UInt8(count & 0xFF))
  }
}
