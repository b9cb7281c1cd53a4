internal import AMQPRPC
internal import ErizoCore
internal import ErizoWire
internal import Logging
internal import Synchronization

/// The controller's side of Nuve (spec §7, §11): registration, keep-alive, state reports, tokens.
final class NuveLink: Sendable {
  struct Registration: Sendable {
    let ip: String
    let hostname: String
    let port: Int
    let ssl: Bool
  }

  private let bus: any RPCBus
  private let registration: Registration
  private let logger: Logger
  private struct State {
    var controllerID: String?
    var reportedState: Int?
  }
  private let state = Mutex(State())

  init(bus: any RPCBus, registration: Registration, logger: Logger) {
    self.bus = bus
    self.registration = registration
    self.logger = logger
  }

  var controllerID: String? { state.withLock { $0.controllerID } }

  /// Registers with `addNewErizoController` until Nuve answers; returns the id it assigned.
  func register() async -> String? {
    var attempt = 0
    while !Task.isCancelled {
      let args: JSONValue = [
        "cloudProvider": "", "ip": .string(registration.ip), "hostname": .string(registration.hostname),
        "port": .int(registration.port), "ssl": .bool(registration.ssl),
      ]
      if let reply = try? await bus.call(
        BusTopology.nuveRoutingKey, method: "addNewErizoController", args: args, timeout: .seconds(1)),
        let id = reply["id"]?.stringValue
      {
        state.withLock {
          $0.controllerID = id
          $0.reportedState = nil
        }
        logger.info("registered with Nuve", metadata: [LogMetadataKey.controllerID: "\(id)"])
        return id
      }
      attempt += 1
      if attempt == 3 || attempt % 10 == 0 {
        logger.warning("Nuve does not answer addNewErizoController, retrying", metadata: ["attempt": "\(attempt)"])
      }
      try? await Task.sleep(for: .seconds(1))
    }
    return nil
  }

  enum KeepAlive { case ok, unknown, silent }

  func keepAlive() async -> KeepAlive {
    guard let id = controllerID else { return .unknown }
    // Short timeouts: a missed keep-alive is retried a second later, and shutdown never waits long.
    switch try? await bus.call(BusTopology.nuveRoutingKey, method: "keepAlive", args: .string(id), timeout: .seconds(1))
    {
    case .string("ok")?: return .ok
    case .string("whoareyou")?: return .unknown
    default: return .silent
    }
  }

  /// Reports the controller's state (2 available, 1 warning, 0 full or draining) when it changed.
  func report(state newState: Int) async {
    // The id to report to, when registered and the state changed.
    let id = state.withLock { state -> String? in
      guard state.controllerID != nil, state.reportedState != newState else { return nil }
      state.reportedState = newState
      return state.controllerID
    }
    guard let id else { return }
    _ = try? await bus.call(
      BusTopology.nuveRoutingKey, method: "setInfo", args: ["id": .string(id), "state": .int(newState)],
      timeout: .seconds(3))
  }

  enum TokenCheck { case document(JSONValue), unknown, silent }

  /// Consumes a token with `deleteToken` (spec §2.3).
  func consume(tokenID: String) async -> TokenCheck {
    do {
      let reply = try await bus.call(
        BusTopology.nuveRoutingKey, method: "deleteToken", args: .string(tokenID), timeout: bus.defaultTimeout)
      guard case .object = reply else { return .unknown }
      return .document(reply)
    } catch {
      return .silent
    }
  }
}
