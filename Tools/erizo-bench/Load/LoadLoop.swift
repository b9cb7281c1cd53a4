import Foundation
import MediaWorker

/// The load process's media side: one thread that owns every `SyntheticPeer`, sends the
/// publishers' packets at the chosen rate, runs the peers' timers, and reads their sockets. The
/// signalling side (async) hands it new peers and asks it for counts, under one lock that the
/// thread releases while it waits in `poll`. (An `NSLock` rather than a `Mutex`: the peers are not
/// `Sendable`, and the thread keeps references to them across the lock.)
final class LoadLoop: @unchecked Sendable {
  struct Rate: Sendable {
    var packetsPerSecond: Double
    var packetSize: Int
  }

  private struct State {
    var publishers: [SyntheticPeer] = []
    var subscribers: [SyntheticPeer] = []
    var sent: UInt32 = 0
    var stop = false
  }

  let origin = ContinuousClock.now
  private let rate: Rate
  private let lock = NSLock()
  private var shared = State()
  private var thread: Thread?
  private let done = DispatchSemaphore(value: 0)

  init(rate: Rate) { self.rate = rate }

  private func withState<Result>(_ body: (inout State) -> Result) -> Result {
    lock.lock()
    defer { lock.unlock() }
    return body(&shared)
  }

  func start() {
    let thread = Thread { [self] in
      run()
      done.signal()
    }
    thread.name = "erizo-load"
    thread.start()
    self.thread = thread
  }

  func stop() {
    withState { $0.stop = true }
    done.wait()
  }

  func add(_ peer: SyntheticPeer) {
    withState { state in
      if peer.direction == .send { state.publishers.append(peer) } else { state.subscribers.append(peer) }
    }
  }

  /// How many publisher packets went out so far (the next packet's index).
  var sent: UInt32 { withState { $0.sent } }

  /// (connected publishers, connected subscribers, streams that media arrived on).
  func progress() -> (publishers: Int, subscribers: Int, receiving: Int) {
    withState { state in
      (
        state.publishers.count { $0.connected }, state.subscribers.count { $0.connected },
        state.subscribers.reduce(0) { $0 + $1.streamsReceiving.count }
      )
    }
  }

  /// Every subscriber counts packets with index in `range` from now on.
  func beginWindow(_ range: Range<UInt32>) {
    withState { state in for peer in state.subscribers { peer.beginWindow(range) } }
  }

  /// Packets counted in the window and their delays (µs), over every subscriber.
  func windowResults() -> (packets: Int, delays: [UInt32]) {
    withState { state in
      var delays: [UInt32] = []
      var packets = 0
      for peer in state.subscribers {
        packets += peer.windowPackets
        delays += peer.windowDelays
      }
      return (packets, delays)
    }
  }

  /// Forgets every peer (once their sessions are DELETEd); their sockets close with them.
  func removeAll() {
    withState { state in
      state.publishers.removeAll()
      state.subscribers.removeAll()
    }
  }

  /// The peers' WHIP/WHEP resources, to DELETE at the end.
  func locations() -> [String] {
    withState { state in (state.publishers + state.subscribers).compactMap(\.location) }
  }

  private func run() {
    let interval = Duration.seconds(1 / rate.packetsPerSecond)
    var nextSend = ContinuousClock.now
    var nextTick = ContinuousClock.now
    var keyFrameAt = ContinuousClock.now
    var fds: [pollfd] = []
    var owners: [SyntheticPeer] = []
    while true {
      let now = ContinuousClock.now
      let stopping = withState { state -> Bool in
        guard !state.stop else { return true }
        // Publishers: every packet due by now (one video frame per packet, 30 key frames a minute
        // and one whenever the worker asks).
        while nextSend <= now {
          let index = state.sent
          let sentAt = UInt64((now - origin) / .nanoseconds(1))
          for peer in state.publishers where peer.connected {
            let key = peer.keyFrameRequested || now >= keyFrameAt
            peer.keyFrameRequested = false
            peer.sendVideo(
              index: index, sequence: UInt16(truncatingIfNeeded: index), timestamp: index &* 3000, key: key,
              size: rate.packetSize, sentAt: sentAt)
            peer.sendAudio(index: index, sentAt: sentAt)
          }
          if now >= keyFrameAt { keyFrameAt = now + .seconds(2) }
          state.sent &+= 1
          nextSend += interval
        }
        if now >= nextTick {
          for peer in state.publishers { peer.tick(now: now) }
          for peer in state.subscribers { peer.tick(now: now) }
          nextTick = now + .milliseconds(20)
        }
        owners = state.publishers + state.subscribers
        return false
      }
      if stopping { return }
      fds.removeAll(keepingCapacity: true)
      for peer in owners { fds.append(pollfd(fd: peer.socket, events: Int16(POLLIN), revents: 0)) }
      let wait = max(.zero, min(nextSend, nextTick) - ContinuousClock.now)
      let milliseconds = Int32(min(20, wait / .milliseconds(1)))
      let ready = poll(&fds, nfds_t(fds.count), milliseconds)
      guard ready > 0 else { continue }
      let readAt = ContinuousClock.now
      withState { _ in
        for (index, fd) in fds.enumerated() where fd.revents & Int16(POLLIN) != 0 {
          owners[index].readable(now: readAt, origin: origin)
        }
      }
    }
  }
}
