internal import NIOCore
internal import Synchronization

/// Watches the client's WebSocket frames on the raw byte stream for a close frame and its status
/// code, which the WebSocket library consumes without telling the application. A close frame
/// with 1000, 1001 or no code is a clean close; anything else, or no close frame at all, is not
/// (spec §4.5). Bytes pass through unchanged.
final class CloseFrameObserver: ChannelInboundHandler, RemovableChannelHandler, Sendable {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = ByteBuffer

  /// What was seen: nil while no close frame arrived, else its status code (1005 when absent).
  let closeCode = Mutex<UInt16?>(nil)

  fileprivate struct Parser {
    /// Header bytes of the frame being read.
    var header: [UInt8] = []
    /// Payload bytes still to skip (or read, for a close frame).
    var remaining: UInt64 = 0
    var isClose = false
    var mask: [UInt8] = []
    var closePayload: [UInt8] = []
  }
  private let parser = Mutex(Parser())

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let buffer = unwrapInboundIn(data)
    if closeCode.withLock({ $0 == nil }) {
      observe(buffer.readableBytesView)
    }
    context.fireChannelRead(data)
  }

  func observe(_ bytes: some Sequence<UInt8>) {
    var found: UInt16?
    parser.withLock { parser in
      for byte in bytes {
        if parser.remaining > 0 {
          parser.remaining -= 1
          if parser.isClose, parser.closePayload.count < 2 {
            parser.closePayload.append(byte ^ parser.mask[parser.closePayload.count % 4])
          }
          if parser.remaining == 0 { found = parser.finishFrame() ?? found }
          continue
        }
        parser.header.append(byte)
        guard let length = parser.headerComplete() else { continue }
        parser.remaining = length
        if length == 0 { found = parser.finishFrame() ?? found }
      }
    }
    if let found { closeCode.withLock { $0 = $0 ?? found } }
  }
}

extension CloseFrameObserver.Parser {
  /// The payload length once the whole header (with its mask) is in, else nil.
  fileprivate mutating func headerComplete() -> UInt64? {
    guard header.count >= 2 else { return nil }
    let masked = header[1] & 0x80 != 0
    let short = UInt64(header[1] & 0x7F)
    let lengthBytes = short == 126 ? 2 : short == 127 ? 8 : 0
    let total = 2 + lengthBytes + (masked ? 4 : 0)
    guard header.count >= total else { return nil }
    var length = short
    if lengthBytes > 0 {
      length = header[2..<(2 + lengthBytes)].reduce(0) { $0 << 8 | UInt64($1) }
    }
    isClose = header[0] & 0x0F == 0x8
    mask = masked ? Array(header[(2 + lengthBytes)..<total]) : [0, 0, 0, 0]
    closePayload = []
    header = []
    return length
  }

  /// Ends a frame; returns the close code when it was a close frame.
  fileprivate mutating func finishFrame() -> UInt16? {
    guard isClose else { return nil }
    isClose = false
    guard closePayload.count == 2 else { return 1005 }
    return UInt16(closePayload[0]) << 8 | UInt16(closePayload[1])
  }
}
