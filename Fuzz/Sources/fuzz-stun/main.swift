import FuzzDriver
import MediaWorker

// STUN parsing, integrity and ICE-lite handling of whatever parses.
@_cdecl("fuzz_stun_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv) { data, count in
    let bytes = Array(UnsafeRawBufferPointer(start: data, count: count))
    guard let message = try? StunMessage(parsing: bytes) else { return 0 }
    _ = message.hasValidIntegrity(key: Array("password".utf8))
    var ice = IceServer(usernameFragment: "local", password: "password")
    let tuple = TransportTuple(localSocket: 0, remote: .ipv4([127, 0, 0, 1], port: 9), proto: .udp)
    _ = ice.handle(message, from: tuple, now: .now)
    _ = message.encoded(integrityKey: [1, 2, 3])
    return 0
  }
}
