import Glibc

/// A TCP port on 127.0.0.1 that nothing uses right now, from the kernel (bind to port 0). Roles
/// under test listen on these rather than on random ports of a fixed range: a random port can be a
/// worker's media port (40000–49999, UDP and now TCP) or an ephemeral port a client connection
/// holds (32768–60999), and a role that cannot bind its port does not start.
enum LoopbackPort {
  static func free() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket")
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
        bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
      }
    }
    precondition(bound, "bind to a free loopback port")
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
