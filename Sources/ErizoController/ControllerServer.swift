internal import AMQPRPC
internal import ErizoCore
internal import ErizoRoleSupport
internal import ErizoWire
internal import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import HummingbirdCore
internal import HummingbirdTLS
internal import HummingbirdWebSocket
internal import Logging
internal import NIOCore
internal import ServiceLifecycle
internal import SocketIO
internal import Synchronization

/// The controller as a service: the HTTP/WebSocket endpoint, Nuve registration and keep-alive, the
/// agent poll, reconnection expiry, the bus methods Nuve and the agents call, and the drain on
/// SIGTERM.
struct ControllerServer: Service {
  let role: ControllerRole
  let bus: MessageBus
  let logger: Logger

  func run() async throws {
    let configuration = role.configuration
    let publicIP =
      configuration.publicIP.isEmpty ? HostAddress.firstExternalIPv4() ?? "127.0.0.1" : configuration.publicIP
    let nuve = NuveLink(
      bus: bus,
      registration: .init(
        ip: publicIP, hostname: configuration.hostname, port: configuration.port, ssl: configuration.ssl),
      logger: logger)
    let state = ControllerState()
    let agents = AgentDirectory(bus: bus, placementTimeout: configuration.placementTimeout, logger: logger)
    let signaling = ControllerSignaling(
      bus: bus, state: state, agents: agents, nuve: nuve,
      settings: .init(
        superserviceKey: role.superserviceKey, nuveDataDirectory: role.nuveDataDirectory,
        tokenRateLimit: configuration.tokenRateLimit, reconnectWindow: configuration.reconnectWindow,
        clientAckTimeout: max(.seconds(1), bus.defaultTimeout - .seconds(1)),
        warningRooms: configuration.warningRooms, limitRooms: configuration.limitRooms),
      logger: logger)
    let socketIO = SocketIOServer(handler: signaling, logger: logger)
    let methods = ControllerMethods(signaling: signaling).table
    let app = Application(
      responder: ControllerHTTPResponder(
        socketIO: socketIO, media: WebRtcHTTPEndpoint(signaling: signaling, logger: logger),
        demo: DemoEndpoint.make(role: role, state: state, logger: logger)
      ) {
        [
          ("bus", bus.isConnected), ("nuve", nuve.controllerID != nil),
          ("accepting", !signaling.draining.load(ordering: .relaxed)),
        ]
      },
      server: try Self.server(configuration, socketIO: socketIO),
      configuration: .init(
        address: .hostname("0.0.0.0", port: configuration.listenPort), serverName: "ErizoController"),
      logger: logger)

    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { await socketIO.run() }
      group.addTask {
        // Shielded from the role's graceful shutdown, which would close every WebSocket at once;
        // the server stops when this task is cancelled, after the drain.
        let server = Task.detached { try await app.run() }
        await withTaskCancellationHandler {
          _ = await server.result
        } onCancel: {
          server.cancel()
        }
      }
      group.addTask {
        // Registration, then keep-alive; `whoareyou` means Nuve forgot us: register again.
        while !Task.isCancelled {
          guard let id = await nuve.register() else { return }
          await bus.serve(queue: BusTopology.controllerQueue(id), handler: methods.handler(logger: logger))
          await signaling.reportState()
          while (try? await Task.sleep(for: configuration.keepAliveInterval)) != nil {
            if await nuve.keepAlive() == .unknown {
              logger.warning("Nuve does not know this controller (whoareyou): registering again")
              break
            }
          }
        }
      }
      group.addTask {
        // A fixed cadence: a poll starts every interval whatever its gather window took, so an
        // agent is removed after `removalThreshold` intervals, not intervals plus windows. The
        // first poll goes out at once, so a new controller knows its agents within one window.
        let clock = ContinuousClock()
        var next = clock.now
        while (try? await Task.sleep(until: next, clock: clock)) != nil {
          next = max(next.advanced(by: configuration.agentPollInterval), clock.now)
          for agent in await agents.poll(window: configuration.agentPollInterval * 0.8) {
            // Clients of a vanished agent are told instead of left hanging (spec §8.2).
            let stranded = await state.clients(onAgent: agent.id)
            await state.forgetPlacements(onAgent: agent.id)
            for client in stranded { await signaling.teardown(client.id, disconnect: true) }
          }
        }
      }
      group.addTask {
        while (try? await Task.sleep(for: .milliseconds(500))) != nil {
          for id in await state.expiredReconnections(now: .now) {
            await signaling.teardown(id, disconnect: true)
          }
        }
      }
      // Drain on SIGTERM: state 0, no new rooms, wait for the rooms to empty or the deadline.
      try? await gracefulShutdown()
      signaling.draining.store(true, ordering: .relaxed)
      await signaling.reportState()
      let deadline = ContinuousClock.now + configuration.drainTimeout
      while await state.clientCount > 0, ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(200))
      }
      let remaining = await state.clientCount
      logger.info("controller drained", metadata: ["controller.clients": "\(remaining)"])
      group.cancelAll()
    }
  }
}

extension ControllerServer {
  /// HTTP/1.1 with the WebSocket upgrade, inside TLS when a certificate and key are configured.
  static func server(_ configuration: ControllerConfiguration, socketIO: SocketIOServer) throws -> HTTPServerBuilder {
    let plain = HTTPServerBuilder.http1WebSocketUpgrade(
      configuration: .init(ws: .init(maxFrameSize: socketIO.maximumFrameSize, autoPing: .disabled))
    ) { request, channel, _ in
      socketIO.shouldUpgrade(request, channel: channel)
    }
    guard !configuration.tlsCertificate.isEmpty else { return plain }
    do {
      let chain = try NIOSSLCertificate.fromPEMFile(configuration.tlsCertificate)
      let key = try NIOSSLPrivateKey(file: configuration.tlsKey, format: .pem)
      let tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
      return try .tls(plain, tlsConfiguration: tls)
    } catch {
      throw ErizoError(.invalidConfigValue, "controller.tlsCertificate/tlsKey cannot be loaded: \(error)")
    }
  }
}

/// The bus methods of `erizoController_<id>` (spec §7): Nuve's room and user management, the
/// agents' events for clients, and typed stats.
struct ControllerMethods {
  let signaling: ControllerSignaling

  var table: RPCMethodTable {
    var table = RPCMethodTable()
    let signaling = signaling
    let state = signaling.state
    table.on("getUsersInRoom") { request in
      guard let roomID = request.positionalArgs.first?.stringValue else { return .data([]) }
      let placement = await state.placement(ofRoom: roomID)
      let users = await state.clients(inRoom: roomID).map { client -> JSONValue in
        [
          "name": .string(client.userName), "ip": .string(client.clientIP), "id": .string(client.id),
          "agentId": placement.map { .string($0.agentID) } ?? .null,
          "channelid": client.connection.map { .string($0.sessionID) } ?? .null,
        ]
      }
      return .data(.array(users))
    }
    table.on("deleteRoom") { request in
      guard let roomID = request.positionalArgs.first?.stringValue else { return .data("Success") }
      for client in await state.clients(inRoom: roomID) { await signaling.teardown(client.id, disconnect: true) }
      return .data("Success")
    }
    table.on("deleteUser") { request in
      let target = request.positionalArgs.first
      guard let user = target?["user"]?.stringValue, let roomID = target?["roomId"]?.stringValue else {
        return .data("User does not exist")
      }
      let matching = await state.clients(inRoom: roomID).filter { $0.userName == user }
      for client in matching { await signaling.teardown(client.id, disconnect: true) }
      return .data(matching.isEmpty ? "User does not exist" : "Success")
    }
    table.on("forwordSingleMsgToClient") { request in
      let args = request.positionalArgs
      guard args.count >= 3, let clientID = args[0].stringValue, let event = args[2].stringValue else {
        return .data(["event": "error", "msg": ["data": [:]]])
      }
      return .data(await signaling.forward(event, args[1], to: clientID))
    }
    table.on("forwordSingleMsgToRoom") { request in
      let args = request.positionalArgs
      if args.count >= 3, let roomID = args[0].stringValue, let event = args[2].stringValue {
        for connection in await state.connections(inRoom: roomID) { connection.emit(event, args[1]) }
      }
      return .none
    }
    table.on("getStats") { _ in
      .data([
        "rooms": .int(await state.roomCount), "clients": .int(await state.clientCount),
        "agents": .int(await signaling.agents.table.agents.count),
        "draining": .bool(signaling.draining.load(ordering: .relaxed)),
      ])
    }
    return table
  }
}

extension ControllerSignaling {
  /// Emits an agent's event to a client and returns its acknowledgement as `{event, msg}` (spec §7);
  /// a client that never answers gets an error reply instead of leaving the agent to time out.
  func forward(_ event: String, _ payload: JSONValue, to clientID: String) async -> JSONValue {
    let (acks, continuation) = AsyncStream<[JSONValue]?>.makeStream()
    let onAck: SocketIOConnection.AckHandler = { arguments in
      continuation.yield(arguments)
      continuation.finish()
    }
    switch await state.deliver(to: clientID, event: event, payload: payload, onAck: onAck) {
    case .unknownClient:
      return ["event": "error", "msg": ["data": [:]]]
    case .connection(let connection):
      connection.emit(event, [payload], ackTimeout: settings.clientAckTimeout, onAck: onAck)
    case .session(let session):
      return await session.agentEvent(event, payload)
    case .buffered:
      break
    }
    var answer: [JSONValue]?
    for await arguments in acks {
      answer = arguments
      break
    }
    guard let answer else {
      return ["event": "error", "msg": ["errmsg": "the client did not acknowledge", "errcode": 408]]
    }
    return ["event": answer.first ?? .null, "msg": answer.count > 1 ? answer[1] : .null]
  }
}

/// The controller's HTTP side: Socket.IO long-polling, `/healthz` and `/readyz` (bus connected,
/// registered with Nuve, not draining).
struct ControllerHTTPResponder: HTTPResponder {
  typealias Context = ControllerRequestContext
  let socketIO: SocketIOServer
  let media: WebRtcHTTPEndpoint
  let demo: DemoEndpoint?
  let readiness: @Sendable () async -> [HealthEndpoints.Check]

  func respond(to request: Request, context: Context) async throws -> Response {
    if let response = await socketIO.respond(to: request, clientIP: context.remoteAddress) { return response }
    let clientIP = context.remoteAddress?.ipAddress ?? ""
    if let response = await media.respond(to: request, clientIP: clientIP) { return response }
    if let demo, let response = await demo.respond(to: request) { return response }
    if let response = await HealthEndpoints.response(path: request.uri.path, checks: readiness) { return response }
    return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "Not Found")))
  }
}

struct ControllerRequestContext: RequestContext {
  var coreContext: CoreRequestContextStorage
  let remoteAddress: SocketAddress?

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    remoteAddress = source.channel.remoteAddress
  }
}
