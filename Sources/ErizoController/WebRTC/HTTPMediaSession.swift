internal import ErizoCore
internal import ORTC
internal import Synchronization

/// A WHIP publisher or WHEP player: a room client without a Socket.IO connection. The agent's
/// events for it arrive here instead of on a socket; a WHEP session takes the `newConsumer`
/// requests that fit its offer's sections until its answer is written.
final class HTTPMediaSession: Sendable {
  enum Kind: String, Sendable { case whip, whep }

  /// A receiving section of a WHEP offer and the consumer placed in it.
  struct Slot: Sendable {
    let index: Int
    let kind: MediaKind
    var consumer: Assigned?
  }

  struct Assigned: Sendable {
    let consumerID: String
    let peerID: String
    let parameters: RtpParameters
  }

  private struct State {
    var slots: [Slot]
    var answered = false
    var lastArrival: ContinuousClock.Instant?
    var transportID: String?
  }

  let kind: Kind
  let id: String
  let roomID: String
  /// A WHEP player may ask for one peer's media only (`?peer=`).
  let peerFilter: String?
  private let state: Mutex<State>

  init(kind: Kind, id: String, roomID: String, slots: [Slot] = [], peerFilter: String? = nil) {
    self.kind = kind
    self.id = id
    self.roomID = roomID
    self.peerFilter = peerFilter
    self.state = Mutex(State(slots: slots))
  }

  /// The session's WebRtcTransport, once made.
  var transportID: String? {
    get { state.withLock { $0.transportID } }
    set { state.withLock { $0.transportID = newValue } }
  }

  /// The acknowledgement of an agent event, as `forwordSingleMsgToClient` returns it.
  func agentEvent(_ event: String, _ payload: JSONValue) async -> JSONValue {
    let data = payload["data"] ?? payload
    guard event == "newConsumer" else { return ["event": "success", "msg": .null] }
    guard kind == .whep, let consumerID = data["id"]?.stringValue,
      let kind = data["kind"]?.stringValue.flatMap(MediaKind.init(rawValue:)),
      let parameters = try? RtpParameters(json: data["rtpParameters"] ?? .null)
    else { return Self.refusal("this session does not take consumers") }
    let peerID = data["peerId"]?.stringValue ?? ""
    if let peerFilter, peerFilter != peerID { return Self.refusal("another peer's media") }
    let placed = state.withLock { state -> Bool in
      guard !state.answered, let free = state.slots.firstIndex(where: { $0.kind == kind && $0.consumer == nil })
      else { return false }
      state.slots[free].consumer = Assigned(consumerID: consumerID, peerID: peerID, parameters: parameters)
      state.lastArrival = .now
      return true
    }
    // A refused consumer stays paused on the worker: nothing is sent for it.
    return placed ? ["event": "success", "msg": .null] : Self.refusal("no free \(kind.rawValue) section")
  }

  /// Waits until every section has a consumer, then freezes the slots for the answer. When the
  /// controller knows how many producers the session can expect (`expecting`: the peer's, or the
  /// room's), it waits for that many (as many as there are sections at most) up to `limit`, however
  /// slowly a loaded agent makes them. Otherwise it stops when the consumers stop arriving: `quiet`
  /// after the last one, `first` when none came.
  func settle(
    expecting: Int? = nil, first: Duration = .milliseconds(1500), quiet: Duration = .milliseconds(300),
    limit: Duration = .seconds(8)
  ) async -> [Slot] {
    let started = ContinuousClock.now
    while true {
      let (placed, total, last) = state.withLock {
        ($0.slots.count { $0.consumer != nil }, $0.slots.count, $0.lastArrival)
      }
      let now = ContinuousClock.now
      if placed == total { break }
      if let expecting, expecting > 0 {
        if placed >= min(expecting, total) || now - started >= limit { break }
      } else if last.map({ now - $0 >= quiet }) ?? (now - started >= first) {
        break
      }
      try? await Task.sleep(for: .milliseconds(25))
    }
    return state.withLock { state in
      state.answered = true
      return state.slots
    }
  }

  private static func refusal(_ reason: String) -> JSONValue {
    ["event": "error", "msg": ["errmsg": .string(reason), "errcode": 2000]]
  }
}
