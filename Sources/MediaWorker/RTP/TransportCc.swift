/// The receive side of transport-wide congestion control (draft-holmer-rmcat-transport-wide-cc-
/// extensions-01; media-worker spec §5.4): it records when each packet carrying the transport-wide
/// sequence number arrived, and writes the RTPFB feedback (FMT 15) that the publisher's send-side
/// bandwidth estimator (GoogCC in Chrome) runs on. Sans-IO: the engine passes arrival times in and
/// asks for feedback on its 100 ms timer.
///
/// Storage is allocated once: a ring of `capacity` arrival slots indexed by the unwrapped sequence
/// number. A feedback covers from where the last one ended (so losses between feedbacks are
/// reported) or, when a reordered packet arrives after its feedback went, from that packet (which is
/// reported again, as libwebrtc does).
public struct TransportCcReceiver {
  public static let capacity = 4096
  /// Feedback is due every 100 ms while packets arrive (mediasoup, libwebrtc).
  public static let intervalMs: Int64 = 100
  /// The largest feedback packet written; a window that does not fit goes in several.
  public static let maximumPacketLength = 1200

  /// The unwrapped sequence number each slot holds (-1: none) and its arrival time in µs.
  private var slotSequence: [Int64]
  private var slotArrival: [Int64]
  private var highest: Int64 = -1
  /// The first sequence number the next feedback covers.
  private var windowStart: Int64 = -1
  /// Counts feedback packets (8 bits on the wire).
  public private(set) var feedbackCount: UInt8 = 0
  /// The SSRC of the last media packet, for the feedback's media SSRC field.
  public private(set) var mediaSSRC: UInt32 = 0
  public private(set) var packetsRecorded = 0
  /// Feedback packets written (unlike `feedbackCount`, not wrapping).
  public private(set) var feedbackPackets = 0
  private var chunks: [UInt16] = []
  private var deltas: [UInt8] = []

  public init() {
    slotSequence = [Int64](repeating: -1, count: Self.capacity)
    slotArrival = [Int64](repeating: 0, count: Self.capacity)
    chunks.reserveCapacity(Self.maximumPacketLength / 2)
    deltas.reserveCapacity(Self.maximumPacketLength)
  }

  /// Something arrived that no feedback has covered yet.
  public var hasPending: Bool { windowStart >= 0 && windowStart <= highest }

  /// Records one packet's transport-wide sequence number and arrival time (µs of a steady clock).
  public mutating func record(sequence: UInt16, arrivalUs: Int64, ssrc: UInt32) {
    let unwrapped: Int64
    if highest < 0 {
      unwrapped = Int64(sequence) + (1 << 20)  // room below for late packets
    } else {
      unwrapped = highest + Int64(Int16(bitPattern: sequence &- UInt16(truncatingIfNeeded: highest)))
    }
    guard unwrapped > highest - Int64(Self.capacity) else { return }  // older than the ring holds
    let slot = slot(unwrapped)
    guard slotSequence[slot] != unwrapped else { return }  // a duplicate keeps its first arrival
    slotSequence[slot] = unwrapped
    slotArrival[slot] = arrivalUs
    packetsRecorded += 1
    mediaSSRC = ssrc
    highest = max(highest, unwrapped)
    if windowStart < 0 || unwrapped < windowStart { windowStart = unwrapped }
    // A window longer than the ring keeps its newest part.
    windowStart = max(windowStart, highest - Int64(Self.capacity) + 1)
  }

  /// Appends one feedback packet for what arrived since the last one (as much as fits in
  /// `maximumPacketLength`); false when nothing was pending. Call again while `hasPending`.
  public mutating func appendFeedback(to out: inout [UInt8], sender: UInt32) -> Bool {
    guard hasPending else { return false }
    let base = windowStart
    // The reference time (64 ms units) comes from the first packet received in the window; the
    // deltas count 250 µs ticks from it, each from the previous received packet's rounded time.
    var first = base
    while !received(first) { first += 1 }  // `highest` is always received
    let referenceTime = slotArrival[slot(first)] / 64_000
    // How many symbols go in: until a delta does not fit 16 bits (the next packet anchors it) or
    // the packet would be too long, counting chunks at their worst (7 symbols per chunk).
    var count = 0
    var deltaBytes = 0
    var last = referenceTime * 64_000
    while base + Int64(count) <= highest {
      guard let (size, _) = delta(base + Int64(count), last: &last) else { break }
      let chunkBytes = 2 * ((count + 1 + 6) / 7)
      if count > 0, 20 + chunkBytes + deltaBytes + size + 3 > Self.maximumPacketLength { break }
      deltaBytes += size
      count += 1
    }
    // Trailing losses wait for the next feedback: they may still arrive.
    while count > 0, !received(base + Int64(count) - 1) { count -= 1 }
    windowStart = base + Int64(count)
    encode(base: base, count: count, referenceTime: referenceTime)
    write(to: &out, sender: sender, base: base, count: count, referenceTime: referenceTime)
    return true
  }

  private func received(_ sequence: Int64) -> Bool { slotSequence[slot(sequence)] == sequence }

  private func slot(_ sequence: Int64) -> Int { Int(sequence & Int64(Self.capacity - 1)) }

  /// The status of `sequence` as (delta bytes: 0 not received, 1 small, 2 large, tick count), moving
  /// `last` on by the ticks; nil when the delta does not fit 16 bits.
  private func delta(_ sequence: Int64, last: inout Int64) -> (size: Int, ticks: Int64)? {
    guard received(sequence) else { return (0, 0) }
    let elapsed = slotArrival[slot(sequence)] - last
    let ticks = (elapsed + (elapsed >= 0 ? 125 : -125)) / 250
    guard ticks >= Int64(Int16.min), ticks <= Int64(Int16.max) else { return nil }
    last += ticks * 250
    return ((0...255).contains(ticks) ? 1 : 2, ticks)
  }

  /// Fills `chunks` and `deltas` for symbols `base ..< base + count`.
  private mutating func encode(base: Int64, count: Int, referenceTime: Int64) {
    chunks.removeAll(keepingCapacity: true)
    deltas.removeAll(keepingCapacity: true)
    var builder = ChunkBuilder()
    var last = referenceTime * 64_000
    for offset in 0..<count {
      let (size, ticks) = delta(base + Int64(offset), last: &last) ?? (0, 0)
      if size == 1 {
        deltas.append(UInt8(ticks))
      } else if size == 2 {
        let value = UInt16(bitPattern: Int16(ticks))
        deltas.append(UInt8(value >> 8))
        deltas.append(UInt8(value & 0xFF))
      }
      let symbol = UInt8(size)
      if !builder.canAdd(symbol) { chunks.append(builder.emit()) }
      builder.add(symbol)
    }
    if count > 0 { chunks.append(builder.finish()) }
  }

  private mutating func write(to out: inout [UInt8], sender: UInt32, base: Int64, count: Int, referenceTime: Int64) {
    let body = 16 + 2 * chunks.count + deltas.count
    let padding = (4 - body % 4) % 4
    let words = (4 + body + padding) / 4 - 1
    // Padding (RFC 3550 §6.4.1): zeros, the last byte counting them, and the P bit set.
    out.append(0x80 | (padding > 0 ? 0x20 : 0) | 15)
    out.append(Rtcp.PacketType.transportFeedback.rawValue)
    out.append(UInt8(words >> 8))
    out.append(UInt8(words & 0xFF))
    Rtcp.append32(&out, sender)
    Rtcp.append32(&out, mediaSSRC)
    let baseSequence = UInt16(truncatingIfNeeded: base)
    out.append(UInt8(baseSequence >> 8))
    out.append(UInt8(baseSequence & 0xFF))
    out.append(UInt8(count >> 8))
    out.append(UInt8(count & 0xFF))
    Rtcp.append32(&out, (UInt32(truncatingIfNeeded: referenceTime) & 0xFF_FFFF) << 8 | UInt32(feedbackCount))
    feedbackCount &+= 1
    feedbackPackets += 1
    for value in chunks {
      out.append(UInt8(value >> 8))
      out.append(UInt8(value & 0xFF))
    }
    out.append(contentsOf: deltas)
    if padding > 0 {
      out.append(contentsOf: repeatElement(0, count: padding - 1))
      out.append(UInt8(padding))
    }
  }
}

/// Packet status chunks (draft §3.1.3–3.1.4) built greedily, as libwebrtc does: symbols collect
/// until one cannot join; then a run-length chunk if all were equal, a one-bit vector of 14 if it
/// is full, or a two-bit vector of the first 7 (the rest stay).
/// Symbols: 0 not received, 1 received with a small delta, 2 received with a large delta.
struct ChunkBuilder {
  private var symbols:
    (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
      (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
  private var size = 0
  private var allSame = true
  private var hasLarge = false

  static let oneBitCapacity = 14
  static let twoBitCapacity = 7
  static let runLengthCapacity = 0x1FFF

  private func symbol(_ index: Int) -> UInt8 {
    withUnsafeBytes(of: symbols) { $0[index] }
  }

  private mutating func setSymbol(_ index: Int, _ value: UInt8) {
    withUnsafeMutableBytes(of: &symbols) { $0[index] = value }
  }

  func canAdd(_ symbol: UInt8) -> Bool {
    if size < Self.twoBitCapacity { return true }
    if size < Self.oneBitCapacity, !hasLarge, symbol != 2 { return true }
    return size < Self.runLengthCapacity && allSame && self.symbol(0) == symbol
  }

  mutating func add(_ symbol: UInt8) {
    if size < Self.oneBitCapacity { setSymbol(size, symbol) }
    if size > 0, symbol != self.symbol(0) { allSame = false }
    if symbol == 2 { hasLarge = true }
    size += 1
  }

  /// The chunk for what is collected when the next symbol cannot join.
  mutating func emit() -> UInt16 {
    if allSame {
      defer { self = ChunkBuilder() }
      return runLength()
    }
    if size == Self.oneBitCapacity {
      defer { self = ChunkBuilder() }
      return oneBit()
    }
    let chunk = twoBit(count: Self.twoBitCapacity)
    // Keep the symbols after the first seven.
    var rest = ChunkBuilder()
    for index in Self.twoBitCapacity..<size { rest.add(symbol(index)) }
    self = rest
    return chunk
  }

  /// The last chunk of a packet.
  mutating func finish() -> UInt16 {
    defer { self = ChunkBuilder() }
    if allSame { return runLength() }
    if size <= Self.twoBitCapacity { return twoBit(count: size) }
    return oneBit()
  }

  private func runLength() -> UInt16 { UInt16(symbol(0)) << 13 | UInt16(size) }

  private func oneBit() -> UInt16 {
    var chunk: UInt16 = 0x8000
    for index in 0..<size { chunk |= UInt16(symbol(index)) << (13 - index) }
    return chunk
  }

  private func twoBit(count: Int) -> UInt16 {
    var chunk: UInt16 = 0xC000
    for index in 0..<count { chunk |= UInt16(symbol(index)) << (12 - 2 * index) }
    return chunk
  }
}

/// A transport-cc feedback packet read back (tests, fuzzing, and later the send-side estimator).
public struct TransportCcFeedback: Equatable, Sendable {
  public var sender: UInt32
  public var media: UInt32
  public var baseSequence: UInt16
  public var referenceTime: Int32
  public var feedbackCount: UInt8
  /// Each covered sequence number and its arrival (µs from the reference time), nil when lost.
  public var packets: [(sequence: UInt16, arrivalUs: Int64?)]

  public static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.sender == rhs.sender && lhs.media == rhs.media && lhs.baseSequence == rhs.baseSequence
      && lhs.referenceTime == rhs.referenceTime && lhs.feedbackCount == rhs.feedbackCount
      && lhs.packets.elementsEqual(rhs.packets) { $0.sequence == $1.sequence && $0.arrivalUs == $1.arrivalUs }
  }

  /// Parses one RTPFB FMT 15 packet of a compound; nil when it is malformed.
  public static func parse(_ bytes: UnsafeRawBufferPointer, _ header: Rtcp.Header) -> TransportCcFeedback? {
    guard header.type == Rtcp.PacketType.transportFeedback.rawValue, header.count == 15, header.range.count >= 20
    else { return nil }
    let start = header.range.lowerBound
    var end = header.range.upperBound
    if bytes[start] & 0x20 != 0 {
      let padding = Int(bytes[end - 1])
      guard padding > 0, padding <= header.range.count - 20 else { return nil }
      end -= padding
    }
    let base = UInt16(bytes[start + 12]) << 8 | UInt16(bytes[start + 13])
    let count = Int(bytes[start + 14]) << 8 | Int(bytes[start + 15])
    let word = RtpPacket.read32(bytes, start + 16)
    let reference = Int32(bitPattern: word) >> 8  // 24-bit signed
    var symbols: [UInt8] = []
    var offset = start + 20
    while symbols.count < count {
      guard offset + 2 <= end else { return nil }
      let chunk = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
      offset += 2
      let remaining = count - symbols.count
      if chunk & 0x8000 == 0 {
        let symbol = UInt8(chunk >> 13 & 0x3)
        let run = Int(chunk & 0x1FFF)
        guard run > 0 else { return nil }
        symbols.append(contentsOf: repeatElement(symbol, count: min(run, remaining)))
      } else if chunk & 0x4000 == 0 {
        for index in 0..<min(14, remaining) { symbols.append(UInt8(chunk >> (13 - index) & 0x1)) }
      } else {
        for index in 0..<min(7, remaining) { symbols.append(UInt8(chunk >> (12 - 2 * index) & 0x3)) }
      }
    }
    var packets: [(sequence: UInt16, arrivalUs: Int64?)] = []
    var time: Int64 = 0
    for (index, symbol) in symbols.enumerated() {
      let sequence = base &+ UInt16(truncatingIfNeeded: index)
      switch symbol {
      case 0:
        packets.append((sequence, nil))
      case 1:
        guard offset + 1 <= end else { return nil }
        time += Int64(bytes[offset]) * 250
        offset += 1
        packets.append((sequence, time))
      case 2:
        guard offset + 2 <= end else { return nil }
        time += Int64(Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]))) * 250
        offset += 2
        packets.append((sequence, time))
      default:
        return nil
      }
    }
    return TransportCcFeedback(
      sender: RtpPacket.read32(bytes, start + 4), media: RtpPacket.read32(bytes, start + 8), baseSequence: base,
      referenceTime: reference, feedbackCount: bytes[start + 19], packets: packets)
  }
}
