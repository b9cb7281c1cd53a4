/// Key-frame detection on RTP payloads (media-worker spec §5.3), so a consumer starts, resumes or
/// switches only on a frame the receiver can decode.
public enum KeyFrames {
  public enum Codec: Sendable {
    case vp8, vp9, h264, other

    public init(mimeType: String) {
      switch mimeType.lowercased() {
      case "video/vp8": self = .vp8
      case "video/vp9": self = .vp9
      case "video/h264": self = .h264
      default: self = .other
      }
    }
  }

  /// True when the payload starts a key frame.
  public static func isKeyFrame(_ codec: Codec, payload: UnsafeRawBufferPointer) -> Bool {
    switch codec {
    case .vp8: vp8(payload)
    case .vp9: vp9(payload)
    case .h264: h264(payload)
    case .other: false
    }
  }

  /// VP8 (RFC 7741): the start of partition 0 (S=1, PID=0), and the P bit of the VP8 payload
  /// header clear.
  static func vp8(_ payload: UnsafeRawBufferPointer) -> Bool {
    guard payload.count >= 1 else { return false }
    let first = payload[0]
    guard first & 0x10 != 0, first & 0x07 == 0 else { return false }  // S, PID
    var offset = 1
    if first & 0x80 != 0 {  // X: extension byte(s)
      guard payload.count > offset else { return false }
      let extensions = payload[offset]
      offset += 1
      if extensions & 0x80 != 0 {  // I: picture id, 7 or 15 bits
        guard payload.count > offset else { return false }
        offset += payload[offset] & 0x80 != 0 ? 2 : 1
      }
      if extensions & 0x40 != 0 { offset += 1 }  // L: TL0PICIDX
      if extensions & 0x30 != 0 { offset += 1 }  // T or K: TID/Y/KEYIDX
    }
    guard payload.count > offset else { return false }
    return payload[offset] & 0x01 == 0
  }

  /// VP9 (RFC 9628): the start of a frame (B) that is not inter-picture predicted (P clear).
  static func vp9(_ payload: UnsafeRawBufferPointer) -> Bool {
    guard payload.count >= 1 else { return false }
    let first = payload[0]
    return first & 0x40 == 0 && first & 0x08 != 0
  }

  /// H264 (RFC 6184): an IDR slice or SPS, alone, in a STAP-A, or starting an FU-A.
  static func h264(_ payload: UnsafeRawBufferPointer) -> Bool {
    guard payload.count >= 1 else { return false }
    let type = payload[0] & 0x1F
    switch type {
    case 5, 7:
      return true
    case 24:  // STAP-A: 16-bit size before each NAL unit
      var offset = 1
      while offset + 2 < payload.count {
        let size = Int(payload[offset]) << 8 | Int(payload[offset + 1])
        let nal = payload[offset + 2] & 0x1F
        if nal == 5 || nal == 7 { return true }
        offset += 2 + size
      }
      return false
    case 28:  // FU-A: start bit and the fragmented NAL type
      guard payload.count >= 2 else { return false }
      return payload[1] & 0x80 != 0 && (payload[1] & 0x1F == 5 || payload[1] & 0x1F == 7)
    default:
      return false
    }
  }
}

/// Maps a producer's sequence numbers onto a consumer's continuous, randomly started sequence
/// (media-worker spec §5.6): packets the consumer skipped (paused, waiting for a key frame) leave
/// no gap, reordering within the stream is kept.
public struct SequenceMapper: Sendable {
  private var offset: UInt16
  private var lastOutput: UInt16
  private var started = false
  private var resync = true

  /// Starts at a random sequence number in 1 000…32 767 (the libsrtp ROC pitfall).
  public init(initial: UInt16 = UInt16.random(in: 1000...32767)) {
    lastOutput = initial &- 1
    offset = 0
  }

  /// Call when packets are about to be skipped (pause, waiting for a key frame): the next packet
  /// passed to `map` continues right after the last one sent.
  public mutating func resynchronise() { resync = true }

  /// The outgoing sequence number for an incoming one.
  public mutating func map(_ input: UInt16) -> UInt16 {
    if resync {
      offset = lastOutput &+ 1 &- input
      resync = false
      started = true
    }
    let output = input &+ offset
    // Track the highest sent, in RFC 3550's modular sense.
    if !started || Int16(bitPattern: output &- lastOutput) > 0 { lastOutput = output }
    return output
  }
}
