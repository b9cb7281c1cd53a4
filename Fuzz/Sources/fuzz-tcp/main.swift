import FuzzDriver
import MediaWorker

// RFC 4571 framing of ICE-TCP connections: the input is cut into reads whose sizes come from its
// first bytes, and every frame the reader hands out must lie inside what was read.
@_cdecl("fuzz_tcp_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, count in
    let input = UnsafeRawBufferPointer(start: data, count: count)
    guard count > 1 else { return 0 }
    let cut = Int(input[0]) + 1
    var reader = TcpFrameReader()
    var offset = 1
    var delivered = 0
    while offset < count {
      let piece = min(cut, count - offset)
      let read = reader.fill { space in
        let size = min(piece, space.count)
        space.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[offset..<offset + size]))
        return size
      }
      offset += max(read, 1)
      reader.frames { frame in
        precondition(!frame.isEmpty && frame.count <= 65_535)
        delivered += 2 + frame.count
      }
    }
    precondition(delivered + reader.pending <= count - 1)
    return 0
  }
}
