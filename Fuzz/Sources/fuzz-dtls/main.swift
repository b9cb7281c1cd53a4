import FuzzDriver
import MediaWorker

// Arbitrary records into a DTLS server session (OpenSSL parses; we must survive what it reports).
let context = try! DtlsContext()

@_cdecl("fuzz_dtls_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, count in
    guard let session = try? DtlsSession(context: context) else { return 0 }
    _ = session.setRemoteFingerprint(algorithm: "sha-256", value: "00")
    _ = session.start(role: .server)
    _ = session.receive(UnsafeRawBufferPointer(start: data, count: count))
    _ = session.handleTimeout()
    return 0
  }
}
