import Testing

@testable import MediaWorker

@Suite("RFC 4571 framing for ICE-TCP")
struct TcpFramingTests {
  /// Feeds `chunks` to a reader one read each, and collects the frames it hands out.
  static func frames(_ chunks: [[UInt8]], reader: inout TcpFrameReader) -> [[UInt8]] {
    var frames: [[UInt8]] = []
    for chunk in chunks {
      let count = reader.fill { space in
        chunk.withUnsafeBytes { space.copyMemory(from: $0) }
        return chunk.count
      }
      #expect(count == chunk.count)
      reader.frames { frames.append(Array($0)) }
    }
    return frames
  }

  @Test func framesSplitAnywhereComeOutWhole() {
    // Two frames, 00 03 "abc" and 00 01 "z", cut after every byte.
    let stream: [UInt8] = [0x00, 0x03, 0x61, 0x62, 0x63, 0x00, 0x01, 0x7A]
    var reader = TcpFrameReader()
    let frames = Self.frames(stream.map { [$0] }, reader: &reader)
    #expect(frames == [[0x61, 0x62, 0x63], [0x7A]])
    #expect(reader.pending == 0)
  }

  @Test func manyFramesInOneReadAndZeroLengthOnesSkipped() {
    var reader = TcpFrameReader()
    let frames = Self.frames(
      [[0x00, 0x00, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00]], reader: &reader)
    #expect(frames == [[0x01, 0x02], [0x03]])
    #expect(reader.pending == 1, "half a length header waits for the next read")
    let rest = Self.frames([[0x02, 0x09, 0x08]], reader: &reader)
    #expect(rest == [[0x09, 0x08]])
  }

  @Test func theLargestFrameFitsAfterAPartialOne() {
    var reader = TcpFrameReader()
    // A partial frame at the end of a long read is moved to the front, so a 65 535-byte frame fits.
    var first: [UInt8] = [0x00, 0x01, 0x55]
    first += [0xFF, 0xFF] + [UInt8](repeating: 7, count: 1000)
    var frames = Self.frames([first], reader: &reader)
    #expect(frames == [[0x55]])
    frames = Self.frames([[UInt8](repeating: 7, count: 64_535)], reader: &reader)
    #expect(frames.count == 1 && frames.first?.count == 65_535 && frames.first?.allSatisfy { $0 == 7 } == true)
  }

  @Test func errorsPassThroughAndTheHeaderIsBigEndian() {
    var reader = TcpFrameReader()
    #expect(reader.fill { _ in -1 } == -1)
    #expect(reader.pending == 0)
    #expect(TcpFrameReader.header(for: 0x1234).map { [$0.0, $0.1] } == [0x12, 0x34])
    #expect(TcpFrameReader.header(for: 65_535).map { [$0.0, $0.1] } == [0xFF, 0xFF])
    #expect(TcpFrameReader.header(for: 65_536) == nil)
  }
}
