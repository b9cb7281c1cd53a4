// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("MemberImportVisibility"),
  .enableUpcomingFeature("InternalImportsByDefault"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let httpTypes = Target.Dependency.product(name: "HTTPTypes", package: "swift-http-types")
let hummingbirdCore = Target.Dependency.product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTLS = Target.Dependency.product(name: "HummingbirdTLS", package: "hummingbird")
let hummingbirdWebSocket = Target.Dependency.product(name: "HummingbirdWebSocket", package: "hummingbird-websocket")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")

let package = Package(
  name: "erizo",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "erizo", targets: ["erizo"]),
    .executable(name: "erizo-worker", targets: ["erizo-worker"]),
    .executable(name: "erizo-bench", targets: ["erizo-bench"]),
    // For the fuzzers (Fuzz/), which build it with libFuzzer instrumentation, and the benchmarks
    // (Benchmarks/), which build these in release mode apart from the main build.
    .library(name: "MediaWorker", targets: ["MediaWorker"]),
    .library(name: "ErizoCore", targets: ["ErizoCore"]),
    .library(name: "ErizoTesting", targets: ["ErizoTesting"]),
    .library(name: "SDP", targets: ["SDP"]),
    .library(name: "SocketIO", targets: ["SocketIO"]),
    .library(name: "Nuve", targets: ["Nuve"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.4.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
  ],
  targets: [
    // C libraries: one system-library target each, with a shim.h of what Swift cannot import.
    .systemLibrary(
      name: "CRabbitMQ", path: "Sources/CRabbitMQ", pkgConfig: "librabbitmq",
      providers: [.apt(["librabbitmq-dev"])]),
    .systemLibrary(
      name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
      providers: [.apt(["libssl-dev"])]),
    .systemLibrary(
      name: "CSRTP", path: "Sources/CSRTP", pkgConfig: "libsrtp2",
      providers: [.apt(["libsrtp2-dev"])]),
    .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
    // libsrtp2's crypto primitives on OpenSSL, allocation-free (plugged into libsrtp's crypto kernel).
    .target(name: "CSRTPCrypto", dependencies: ["CSRTP", "COpenSSL"], path: "Sources/CSRTPCrypto"),
    .systemLibrary(
      name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
      providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(
      name: "CMongoC", path: "Sources/CMongoC", pkgConfig: "libmongoc-1.0",
      providers: [.apt(["libmongoc-dev"])]),

    // Shared types.
    .target(name: "ErizoCore", dependencies: ["COpenSSL", log], swiftSettings: strictSettings),
    .target(name: "ErizoWire", dependencies: ["ErizoCore"], swiftSettings: strictSettings),

    // Transports.
    .target(name: "AMQP", dependencies: ["CRabbitMQ", "ErizoCore"], swiftSettings: strictSettings),
    .target(
      name: "AMQPRPC",
      dependencies: ["AMQP", "ErizoCore", "ErizoWire", log, metrics, lifecycle],
      swiftSettings: strictSettings),

    .target(
      name: "SocketIO", dependencies: ["ErizoCore", hummingbird, hummingbirdWebSocket, httpTypes, log, metrics],
      swiftSettings: strictSettings),

    // Media rules shared by the worker and the agent (spec media-worker §3).
    .target(name: "ORTC", dependencies: ["ErizoCore"], swiftSettings: strictSettings),
    // SDP offer/answer for WHIP, WHEP and the demo page (DESIGN.md §6).
    .target(name: "SDP", dependencies: ["ErizoCore", "ORTC"], swiftSettings: strictSettings),

    // Roles.
    .target(
      name: "ErizoRoleSupport",
      dependencies: [
        "AMQPRPC", "ErizoCore", "ErizoWire", hummingbird, httpTypes, log, metrics, prometheus, lifecycle,
      ],
      swiftSettings: strictSettings),
    .target(
      name: "Nuve",
      dependencies: [
        "ErizoRoleSupport", "AMQPRPC", "ErizoCore", "ErizoWire", "CSQLite", "CMongoC", hummingbird, httpTypes, log,
        lifecycle, metrics,
      ],
      swiftSettings: strictSettings),
    .target(
      name: "ErizoController",
      dependencies: [
        "ErizoRoleSupport", "AMQPRPC", "ErizoCore", "ErizoWire", "SocketIO", "SDP", "ORTC", hummingbird,
        hummingbirdWebSocket,
        hummingbirdCore, hummingbirdTLS, httpTypes, nioCore, nioPosix, nioHTTP1, log, metrics, lifecycle,
      ],
      swiftSettings: strictSettings),
    .target(
      name: "ErizoAgent",
      dependencies: [
        "ErizoRoleSupport", "AMQPRPC", "ErizoCore", "ErizoWire", "MediaWorker", "ORTC", log, metrics, lifecycle,
      ],
      swiftSettings: strictSettings),
    .target(
      name: "ROV",
      dependencies: ["ErizoRoleSupport", "AMQPRPC", "ErizoCore", "ErizoWire", hummingbird, httpTypes, log, lifecycle],
      swiftSettings: strictSettings),
    .target(
      name: "MediaWorker", dependencies: ["ErizoCore", "COpenSSL", "CSRTP", "CSRTPCrypto", "CEpoll"],
      swiftSettings: strictSettings),

    // Executables: thin mains.
    .executableTarget(
      name: "erizo",
      dependencies: [
        "ErizoCore", "ErizoRoleSupport", "AMQPRPC", "Nuve", "ErizoController", "ErizoAgent", "ROV",
        argumentParser, log, lifecycle,
      ],
      swiftSettings: strictSettings),
    .executableTarget(name: "erizo-worker", dependencies: ["MediaWorker", "ErizoCore"], swiftSettings: strictSettings),
    .executableTarget(
      name: "erizo-bench",
      dependencies: [
        "AMQP", "AMQPRPC", "ErizoCore", "ErizoRoleSupport", "Nuve", "MediaWorker", "SDP", "SocketIO", "ErizoTesting",
        hummingbird, .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"), argumentParser, log,
      ],
      path: "Tools/erizo-bench",
      swiftSettings: strictSettings),

    // Test support and tests.
    .target(
      name: "ErizoTesting", dependencies: ["AMQPRPC", "ErizoCore", "MediaWorker", log], swiftSettings: strictSettings),
    .testTarget(name: "ErizoCoreTests", dependencies: ["ErizoCore"], swiftSettings: strictSettings),
    .testTarget(
      name: "NuveTests", dependencies: ["Nuve", "ErizoCore", "ErizoRoleSupport", "AMQPRPC", "ErizoTesting"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "ErizoControllerTests", dependencies: ["ErizoController", "ErizoCore", "ORTC"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "MediaWorkerTests", dependencies: ["MediaWorker", "ErizoCore", "ErizoTesting"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "ErizoAgentTests", dependencies: ["ErizoAgent", "ErizoCore", "ORTC"], swiftSettings: strictSettings),
    .testTarget(name: "ORTCTests", dependencies: ["ORTC", "ErizoCore"], swiftSettings: strictSettings),
    .testTarget(
      name: "SDPTests", dependencies: ["SDP", "ORTC", "ErizoCore"], resources: [.copy("Fixtures")],
      swiftSettings: strictSettings),
    .testTarget(name: "SocketIOTests", dependencies: ["SocketIO", "ErizoCore"], swiftSettings: strictSettings),
    .testTarget(name: "ErizoWireTests", dependencies: ["ErizoWire", "ErizoCore"], swiftSettings: strictSettings),
    .testTarget(
      name: "AMQPRPCTests", dependencies: ["AMQPRPC", "ErizoCore", "ErizoTesting", log],
      swiftSettings: strictSettings),
    .testTarget(
      name: "ROVTests",
      dependencies: ["ROV", "AMQPRPC", "ErizoCore", "ErizoRoleSupport", "ErizoTesting", "ErizoWire"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "ErizoRoleSupportTests",
      dependencies: ["ErizoRoleSupport", "Nuve", "ErizoController", "ErizoAgent", "ROV", "ErizoCore"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "SystemLibrariesTests", dependencies: ["COpenSSL", "CSRTP", "CMongoC", "CRabbitMQ"],
      swiftSettings: strictSettings),
    .testTarget(
      name: "IntegrationTests", dependencies: ["AMQP", "AMQPRPC", "ErizoCore", "ErizoTesting", "Nuve", log],
      exclude: ["Fixtures"],
      swiftSettings: strictSettings),
  ]
)
