public import AMQPRPC
internal import ErizoCore
internal import ErizoWire
public import Logging

public import struct Foundation.Date

/// Nuve's side of the bus (spec §7 "EC → Nuve", §11): controllers register, keep alive, report
/// their state and consume tokens; silent controllers are removed and their rooms unbound.
public struct ControllerRegistry: Sendable {
  let store: any NuveStore
  let bus: any RPCBus
  let tokenLifetime: Duration
  let controllerTimeout: Duration
  let logger: Logger

  public init(
    store: any NuveStore, bus: any RPCBus, tokenLifetime: Duration, controllerTimeout: Duration,
    logger: Logger
  ) {
    self.store = store
    self.bus = bus
    self.tokenLifetime = tokenLifetime
    self.controllerTimeout = controllerTimeout
    self.logger = logger
  }

  public var methods: RPCMethodTable {
    var table = RPCMethodTable()
    table.on("addNewErizoController") { request in await self.addController(request.args) }
    table.on("keepAlive") { request in await self.keepAlive(request.args) }
    table.on("setInfo") { request in await self.setInfo(request.args) }
    table.on("killMe") { request in
      self.logger.info("a controller asked to be removed", metadata: ["controller.ip": "\(request.args ?? .null)"])
      return .data(nil)
    }
    table.on("deleteToken") { request in await self.deleteToken(request.args) }
    table.on("getErizoControllers") { _ in await self.listControllers() }
    return table
  }

  private func addController(_ args: JSONValue?) async -> RPCReply {
    guard case .object(let fields)? = args else { return .data("error") }
    let record = ControllerRecord(
      id: ObjectID.make(), ip: fields["ip"]?.stringValue ?? "", hostname: fields["hostname"]?.stringValue ?? "",
      port: fields["port"]?.intValue ?? 8080, ssl: fields["ssl"]?.boolValue ?? false, state: 2, lastSeen: Date())
    do {
      try await store.addController(record)
    } catch {
      return .data("error")
    }
    logger.info("controller registered", metadata: [LogMetadataKey.controllerID: "\(record.id)"])
    return .data([
      "id": .string(record.id), "publicIP": .string(record.ip), "hostname": .string(record.hostname),
      "port": .int(record.port), "ssl": .bool(record.ssl),
    ])
  }

  private func keepAlive(_ args: JSONValue?) async -> RPCReply {
    guard let id = args?.stringValue ?? args?.arrayValue?.first?.stringValue else { return .data("whoareyou") }
    let known = (try? await store.touchController(id: id, at: Date())) ?? false
    return .data(known ? "ok" : "whoareyou")
  }

  private func setInfo(_ args: JSONValue?) async -> RPCReply {
    if let id = args?["id"]?.stringValue, let state = args?["state"]?.intValue, (0...2).contains(state) {
      _ = try? await store.setControllerState(id: id, state: state)
    }
    return .data(nil)
  }

  private func deleteToken(_ args: JSONValue?) async -> RPCReply {
    guard let id = args?.stringValue ?? args?.arrayValue?.first?.stringValue else { return .data("error") }
    let cutoff = Date().addingTimeInterval(-Double(tokenLifetime.components.seconds))
    do {
      // Expiry is enforced here, at lookup; `sweep` only reclaims the space of expired tokens.
      guard let token = try await store.takeToken(id: id), token.creationDate >= cutoff else { return .data("error") }
      return .data(token.json)
    } catch {
      return .data("error")
    }
  }

  private func listControllers() async -> RPCReply {
    let controllers = (try? await store.controllers()) ?? []
    return .data(.array(controllers.orderedByState.map(\.json)))
  }

  /// Periodic housekeeping (every second): deletes expired tokens and expires silent controllers.
  public func sweep(now: Date = Date()) async {
    try? await store.deleteTokens(olderThan: now.addingTimeInterval(-Double(tokenLifetime.components.seconds)))
    await expireSilentControllers(now: now)
  }

  /// Removes controllers whose keep-alive lapsed, unbinds their rooms and tells the agents
  /// (`handleEcDown`). Only the replica whose delete succeeds broadcasts.
  public func expireSilentControllers(now: Date = Date()) async {
    let limit = now.addingTimeInterval(-Double(controllerTimeout.components.seconds))
    guard let controllers = try? await store.controllers() else { return }
    for controller in controllers where controller.lastSeen < limit {
      guard (try? await store.deleteController(id: controller.id)) == true else { continue }
      try? await store.unbindRooms(controllerID: controller.id)
      logger.warning("controller expired", metadata: [LogMetadataKey.controllerID: "\(controller.id)"])
      try? await bus.broadcast(topic: BusTopology.agentTopic, method: "handleEcDown", args: [.string(controller.id)])
    }
  }
}
