import FuzzDriver
import MediaWorker

// The channel: framing, JSON messages, and the worker's request dispatch (M0 methods).
nonisolated(unsafe) var core = WorkerCore(settings: WorkerSettings(), pid: 1)

@_cdecl("fuzz_channel_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, count in
    var decoder = ChannelFraming.Decoder()
    decoder.append(UnsafeRawBufferPointer(start: data, count: count))
    while let payload = try? decoder.next() {
      guard let message = try? ChannelMessage(payload: payload) else { continue }
      _ = core.handle(message)
    }
    // The bytes as one payload too.
    if let message = try? ChannelMessage(payload: Array(UnsafeRawBufferPointer(start: data, count: count))) {
      _ = core.handle(message)
    }
    return 0
  }
}
