/// The worker channel's framing (media-worker spec §2, DESIGN.md §5): each message is a 4-byte
/// little-endian length followed by that many payload bytes, at most 4 194 304. Sans-IO: bytes in,
/// payloads out, so the same code serves pipes, a C entry point, and tests.
public enum ChannelFraming {
  public static let maximumPayload = 4_194_304

  public enum FramingError: Error, Equatable {
    /// A frame announced more than `maximumPayload` bytes; the channel cannot resynchronise.
    case oversized(Int)
  }

  /// One frame for `payload`.
  public static func frame(_ payload: [UInt8]) -> [UInt8] {
    let length = UInt32(payload.count)
    var bytes: [UInt8] = [
      UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24),
    ]
    bytes.reserveCapacity(4 + payload.count)
    bytes.append(contentsOf: payload)
    return bytes
  }

  /// Collects bytes as they arrive and hands out complete payloads in order.
  public struct Decoder {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
      buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
      buffer.append(contentsOf: bytes)
    }

    /// The next complete payload, or nil until more bytes arrive.
    public mutating func next() throws(FramingError) -> [UInt8]? {
      guard buffer.count - start >= 4 else {
        compact()
        return nil
      }
      let length =
        Int(buffer[start]) | Int(buffer[start + 1]) << 8 | Int(buffer[start + 2]) << 16 | Int(buffer[start + 3]) << 24
      guard length <= ChannelFraming.maximumPayload else { throw .oversized(length) }
      guard buffer.count - start - 4 >= length else {
        compact()
        return nil
      }
      let payload = Array(buffer[(start + 4)..<(start + 4 + length)])
      start += 4 + length
      return payload
    }

    /// Drops consumed bytes once the reader has taken every complete frame.
    private mutating func compact() {
      guard start > 0 else { return }
      buffer.removeSubrange(0..<start)
      start = 0
    }
  }
}
