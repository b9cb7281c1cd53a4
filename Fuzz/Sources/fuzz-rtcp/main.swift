import FuzzDriver
import MediaWorker

// RTCP compounds and every reader the worker uses on them.
@_cdecl("fuzz_rtcp_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, count in
    let bytes = UnsafeRawBufferPointer(start: data, count: count)
    _ = Rtcp.looksLikeRtcp(bytes)
    for header in Rtcp.packets(bytes) ?? [] {
      _ = Rtcp.reportBlocks(bytes, header)
      _ = Rtcp.feedbackSSRCs(bytes, header)
      _ = Rtcp.firTargets(bytes, header)
      _ = Rtcp.nackedSequenceNumbers(bytes, header)
      _ = Rtcp.senderInfo(bytes, header)
      _ = Rtcp.receiverEstimatedMaximumBitrate(bytes, header)
      _ = TransportCcFeedback.parse(bytes, header)
    }
    return 0
  }
}
