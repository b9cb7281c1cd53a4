internal import AMQPRPC
internal import ErizoCore
internal import ErizoRoleSupport
internal import ErizoWire
internal import Foundation
internal import Hummingbird
internal import Logging
internal import ServiceLifecycle

/// Nuve as a service: opens the store, makes sure the superservice exists, serves the registry on
/// the bus, expires silent controllers every second, and serves the REST API.
struct NuveServer: Service {
  let configuration: NuveConfiguration
  let bus: MessageBus
  let logger: Logger

  func run() async throws {
    let store = try await openStore()
    let superservice = try await Superservice.ensure(configuration: configuration, store: store, logger: logger)
    let registry = ControllerRegistry(
      store: store, bus: bus, tokenLifetime: configuration.tokenLifetime,
      controllerTimeout: configuration.controllerTimeout,
      logger: logger)
    await bus.serve(
      queue: BusTopology.nuveQueue, routingKey: BusTopology.nuveRoutingKey,
      handler: registry.methods.handler(logger: logger))
    let verifier = MAuthVerifier(store: store, superserviceID: superservice.id, window: configuration.mauthWindow)
    let api = NuveAPI(
      store: store, bus: bus, verifier: verifier,
      settings: .init(
        tokenLifetime: configuration.tokenLifetime, controllerTimeout: configuration.controllerTimeout,
        rpcTimeout: bus.defaultTimeout, testRoom: configuration.testRoom,
        superserviceKey: superservice.key),
      logger: logger)
    let app = Application(
      responder: NuveHTTPResponder(api: api) {
        // Ready: the bus is up and the store answers a read of the superservice.
        let storeAnswers = (try? await store.service(id: superservice.id)) != nil
        return [("bus", bus.isConnected), ("store", storeAnswers)]
      },
      configuration: .init(address: .hostname("0.0.0.0", port: configuration.port), serverName: "Nuve"),
      logger: logger)
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        // Ends quietly when cancelled at shutdown (a thrown CancellationError would fail the group).
        while (try? await Task.sleep(for: .seconds(1))) != nil {
          await registry.sweep()
          try? await verifier.forgetOldNonces()
        }
      }
      try await app.run()
      group.cancelAll()
    }
  }

  private func openStore() async throws -> any NuveStore {
    if !configuration.databaseURL.isEmpty {
      let store = try MongoNuveStore(url: configuration.databaseURL)
      // Retries while MongoDB comes up, as a container started beside it would need.
      var attempt = 0
      while true {
        do {
          try await store.prepare()
          logger.info("using MongoDB", metadata: ["nuve.database": "\(configuration.databaseURL)"])
          return store
        } catch {
          attempt += 1
          if attempt == 1 || attempt % 10 == 0 {
            logger.warning("cannot reach MongoDB, retrying", metadata: ["error": "\(error.message)"])
          }
          try await Task.sleep(for: .seconds(1))
        }
      }
    }
    try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
    return try SQLiteNuveStore(path: configuration.dataDirectory + "/nuve.sqlite")
  }
}

/// The superservice: from configuration, or generated with the CSPRNG at first start and saved in
/// the data directory (spec §1.2; DESIGN.md §2).
enum Superservice {
  static func ensure(configuration: NuveConfiguration, store: any NuveStore, logger: Logger) async throws
    -> ServiceRecord
  {
    var id = configuration.superserviceID
    var key = configuration.superserviceKey
    var generated = false
    let file = SuperserviceFile.path(inDirectory: configuration.dataDirectory)
    if id.isEmpty || key.isEmpty {
      if let saved = SuperserviceFile.read(directory: configuration.dataDirectory), let savedID = saved.id {
        (id, key) = (savedID, saved.key)
      } else {
        id = ObjectID.make()
        key = Crypto.base64(Crypto.randomBytes(24))
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        let json: JSONValue = ["id": .string(id), "key": .string(key)]
        _ = FileManager.default.createFile(
          atPath: file, contents: Data(json.serialized()), attributes: [.posixPermissions: 0o600])
        generated = true
      }
    }
    if let existing = try await store.service(id: id) {
      guard existing.key == key else {
        throw ErizoError(.invalidConfigValue, "the stored superservice \(id) has another key than the configured one")
      }
      return existing
    }
    let service = ServiceRecord(id: id, name: "superService", key: key)
    try await store.createService(service)
    if generated {
      print(
        """
        Nuve superservice created (saved in \(file)):
          id:  \(id)
          key: \(key)
        Sign REST calls with it, e.g.: nuve/mauth-curl GET http://127.0.0.1:\(configuration.port)/services
        """)
      fflush(nil)  // flush stdout even when it is a file
    }
    logger.info("superservice ready", metadata: ["nuve.superservice": "\(id)"])
    return service
  }
}
