import Synchronization
import Testing

@testable import SocketIO

@Suite("Close frame observer")
struct CloseFrameObserverTests {
  /// A masked client frame, as browsers and python clients send them.
  static func frame(opcode: UInt8, payload: [UInt8], mask: [UInt8] = [0x11, 0x22, 0x33, 0x44]) -> [UInt8] {
    var bytes: [UInt8] = [0x80 | opcode]
    if payload.count < 126 {
      bytes.append(0x80 | UInt8(payload.count))
    } else {
      bytes.append(0x80 | 126)
      bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    }
    bytes += mask
    bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    return bytes
  }

  @Test func seesTheCloseCodeAfterDataFrames() {
    let observer = CloseFrameObserver()
    let text = Self.frame(opcode: 0x1, payload: Array("42[\"join\",{}]".utf8))
    let long = Self.frame(opcode: 0x1, payload: Array(repeating: 0x61, count: 300))
    let close = Self.frame(opcode: 0x8, payload: [0x03, 0xE9] + Array("going away".utf8))
    observer.observe(text + long)
    #expect(observer.closeCode.withLock { $0 } == nil)
    // Split across reads at awkward places.
    observer.observe(close.prefix(3))
    observer.observe(close.dropFirst(3).prefix(5))
    observer.observe(close.dropFirst(8))
    #expect(observer.closeCode.withLock { $0 } == 1001)
  }

  @Test func aCloseWithoutCodeIs1005() {
    let observer = CloseFrameObserver()
    observer.observe(Self.frame(opcode: 0x8, payload: []))
    #expect(observer.closeCode.withLock { $0 } == 1005)
  }

  @Test func pingsAreNotCloses() {
    let observer = CloseFrameObserver()
    observer.observe(Self.frame(opcode: 0x9, payload: [1, 2]) + Self.frame(opcode: 0x8, payload: [0x0F, 0xA0]))
    #expect(observer.closeCode.withLock { $0 } == 4000)
  }
}
