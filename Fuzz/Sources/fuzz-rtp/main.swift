import FuzzDriver
import MediaWorker

// RTP parsing, extension walking, key-frame detection and the consumer rewrite.
nonisolated(unsafe) var output = [UInt8](repeating: 0, count: 70_000)

@_cdecl("fuzz_rtp_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, count in
    let bytes = UnsafeRawBufferPointer(start: data, count: count)
    guard let packet = RtpPacket.parse(bytes) else { return 0 }
    var map = [UInt8](repeating: 0, count: 256)
    for id in 1..<15 { map[id] = UInt8(15 - id) }
    packet.forEachExtension(in: bytes) { _, range in precondition(range.upperBound <= bytes.count) }
    let payload = UnsafeRawBufferPointer(rebasing: bytes[packet.payloadRange])
    for codec in [KeyFrames.Codec.vp8, .vp9, .h264] { _ = KeyFrames.isKeyFrame(codec, payload: payload) }
    let rewrite = RtpRewrite(extensionMap: map, midID: 1, mid: Array("12".utf8))
    _ = output.withUnsafeMutableBytes {
      rewrite.write(packet, from: bytes, into: $0, ssrc: 1, sequenceNumber: 2, payloadType: 96)
    }
    return 0
  }
}
