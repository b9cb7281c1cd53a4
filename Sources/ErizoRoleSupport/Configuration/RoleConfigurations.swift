public import ErizoCore
internal import Glibc

/// `nuve.*`: the REST service (spec §1–3).
public struct NuveConfiguration: Sendable {
  public var port: Int
  public var databaseURL: String
  public var dataDirectory: String
  public var superserviceID: String
  public var superserviceKey: String
  public var tokenLifetime: Duration
  public var mauthWindow: Duration
  public var testRoom: Bool
  public var controllerTimeout: Duration

  init(_ reader: ConfigReader) throws(ErizoError) {
    port = try reader.int("nuve.port", default: 3000, range: 1...65535, help: "HTTP port")
    databaseURL = try reader.string(
      "nuve.databaseURL", default: "", env: ["MONGO_URL"],
      help: "MongoDB as `host[:port]/db` or `mongodb://…`; empty: SQLite in `nuve.dataDirectory`")
    dataDirectory = try reader.string(
      "nuve.dataDirectory", default: "erizo-data", help: "where the SQLite store and generated credentials live")
    superserviceID = try reader.string(
      "nuve.superserviceID", default: "", help: "24-hex id of the superservice; generated at first start when empty")
    superserviceKey = try reader.string(
      "nuve.superserviceKey", default: "", help: "superservice key (also signs tokens); generated when empty")
    if !superserviceID.isEmpty, !(superserviceID.utf8.count == 24 && superserviceID.allSatisfy(\.isHexDigit)) {
      throw ErizoError(.invalidConfigValue, "nuve.superserviceID must be 24 hexadecimal characters")
    }
    tokenLifetime = .seconds(
      try reader.int("nuve.tokenLifetime", default: 180, range: 1...86_400, help: "seconds a token stays usable"))
    mauthWindow = .seconds(
      try reader.int(
        "nuve.mauthWindow", default: 300, range: 1...86_400,
        help: "accepted MAuth timestamp skew against the server clock, in seconds"))
    testRoom = try reader.bool("nuve.testRoom", default: false, help: "enable the reference's shared `test` room")
    controllerTimeout = .seconds(
      try reader.int(
        "nuve.controllerTimeout", default: 11, range: 1...3600,
        help: "seconds without keep-alive after which a controller is removed and its rooms unbound"))
  }
}

/// `controller.*`: the client gateway (spec §4, §11).
public struct ControllerConfiguration: Sendable {
  public var listenPort: Int
  public var publicIP: String
  public var hostname: String
  public var port: Int
  public var ssl: Bool
  public var warningRooms: Int
  public var limitRooms: Int
  public var keepAliveInterval: Duration
  public var tokenRateLimit: Int
  public var reconnectWindow: Duration
  public var agentPollInterval: Duration
  public var placementTimeout: Duration
  public var drainTimeout: Duration
  public var tlsCertificate: String
  public var tlsKey: String
  /// `auto` (on in `erizo all`, off for `erizo controller`), `on` or `off`.
  public var demo: String
  public var nuveURL: String

  /// Whether the demo page and its token endpoint are served.
  public var demoEnabled: Bool { demo == "on" }

  init(_ reader: ConfigReader) throws(ErizoError) {
    demo = try reader.string(
      "controller.demo", default: "auto",
      help: "the browser demo page at / and its token endpoint: auto (on in `erizo all` only), on, off",
      allowed: ["auto", "on", "off"])
    nuveURL = try reader.string(
      "controller.nuveURL", default: "http://127.0.0.1:3000",
      help: "Nuve's REST address, for the demo page's tokens (plain http)")
    listenPort = try reader.int("controller.listenPort", default: 8080, range: 1...65535, help: "HTTP/WebSocket port")
    publicIP = try reader.string(
      "controller.publicIP", default: "", env: ["PUBLIC_IP"],
      help: "address put in tokens; empty: the first non-loopback IPv4, else 127.0.0.1")
    if !publicIP.isEmpty { try IPAddressValidation.require(publicIP, key: "controller.publicIP / PUBLIC_IP") }
    hostname = try reader.string(
      "controller.hostname", default: "", help: "host name put in tokens instead of the address")
    port = try reader.int(
      "controller.port", default: 8080, range: 1...65535, help: "port put in tokens (differs behind a proxy)")
    ssl = try reader.bool("controller.ssl", default: false, help: "tell clients to use wss/https")
    warningRooms = try reader.int(
      "controller.warningRooms", default: 15, range: 0...1_000_000, env: ["WARING_N_ROOM"],
      help: "rooms at which the state becomes 1 (warning)")
    limitRooms = try reader.int(
      "controller.limitRooms", default: 20, range: 0...1_000_000, env: ["LIMIT_N_ROOM"],
      help: "rooms above which the state becomes 0 (full)")
    keepAliveInterval = .milliseconds(
      try reader.int(
        "controller.keepAliveInterval", default: 1000, range: 100...60_000, help: "keep-alive period to Nuve in ms"))
    tokenRateLimit = try reader.int(
      "controller.tokenRateLimit", default: 0, range: 0...1_000_000,
      help: "`token` requests accepted per second (errcode 1000 beyond); 0 = no limit")
    reconnectWindow = .milliseconds(
      try reader.int(
        "controller.reconnectWindow", default: 10_000, range: 0...600_000,
        help: "ms a client whose connection dropped is kept for `reconnected`"))
    agentPollInterval = .milliseconds(
      try reader.int(
        "controller.agentPollInterval", default: 2000, range: 200...60_000,
        help: "period of the `getErizoAgents` broadcast in ms"))
    placementTimeout = .milliseconds(
      try reader.int(
        "controller.placementTimeout", default: 10_000, range: 100...600_000,
        help: "ms to wait for an agent's `getMediasoupWork` before trying the next"))
    drainTimeout = .seconds(
      try reader.int(
        "controller.drainTimeout", default: 20, range: 0...86_400,
        help: "seconds a draining controller (SIGTERM) waits for its rooms to empty"))
    tlsCertificate = try reader.string(
      "controller.tlsCertificate", default: "", help: "PEM certificate chain file; with `tlsKey`, serve HTTPS/WSS")
    tlsKey = try reader.string("controller.tlsKey", default: "", help: "PEM private key file of `tlsCertificate`")
    guard tlsCertificate.isEmpty == tlsKey.isEmpty else {
      throw ErizoError(.invalidConfigValue, "controller.tlsCertificate and controller.tlsKey must be set together")
    }
  }
}

/// `agent.*`: the media worker pool (spec §8, §10).
public struct AgentConfiguration: Sendable {
  public var numWorkers: Int
  public var publicIP: String
  public var listenIP: String
  public var announcedIP: String
  public var rtcMinPort: Int
  public var rtcMaxPort: Int
  public var singlePort: Bool
  public var singlePortBase: Int
  public var metadata: JSONValue
  public var throttleSecret: String
  public var port: Int
  public var drainTimeout: Duration
  public var workerPath: String

  init(_ reader: ConfigReader) throws(ErizoError) {
    numWorkers = try reader.int(
      "agent.numWorkers", default: 0, range: 0...1024, help: "media workers to run; 0 = one per core")
    publicIP = try reader.string(
      "agent.publicIP", default: "", env: ["PUBLIC_IP"], help: "the host's public address; empty: detected")
    listenIP = try reader.string(
      "agent.listenIP", default: "", env: ["MEDIASOUP_LISTEN_IP"], help: "address media sockets bind; empty: publicIP")
    announcedIP = try reader.string(
      "agent.announcedIP", default: "", env: ["MEDIASOUP_ANNOUNCED_IP"],
      help: "address put in ICE candidates (NAT, containers); empty: the listen address")
    for (key, value) in [
      ("agent.publicIP", publicIP), ("agent.listenIP", listenIP), ("agent.announcedIP", announcedIP),
    ]
    where !value.isEmpty {
      try IPAddressValidation.require(value, key: key)
    }
    rtcMinPort = try reader.int(
      "agent.rtcMinPort", default: 40000, range: 1024...65535, env: ["MEDIASOUP_MIN_PORT", "RTCMINPORT"],
      help: "lowest media port in range mode")
    rtcMaxPort = try reader.int(
      "agent.rtcMaxPort", default: 49999, range: 1024...65535, env: ["MEDIASOUP_MAX_PORT", "RTCMAXPORT"],
      help: "highest media port in range mode")
    guard rtcMinPort <= rtcMaxPort else {
      throw ErizoError(
        .invalidConfigValue, "agent.rtcMinPort (\(rtcMinPort)) is above agent.rtcMaxPort (\(rtcMaxPort))")
    }
    singlePort = try reader.bool(
      "agent.singlePort", default: false, help: "one UDP+TCP port per worker (`singlePortBase` + worker index)")
    singlePortBase = try reader.int(
      "agent.singlePortBase", default: 40000, range: 1024...65535, help: "first port in single-port mode")
    metadata = try reader.json(
      "agent.metadata", default: .object([:]), help: "JSON reported in `getErizoAgents` (the reference's `-m`)")
    throttleSecret = try reader.string(
      "agent.throttleSecret", default: "", env: ["NETWORK_THROTTLE_SECRET"],
      help: "secret for `applyNetworkThrottle`; empty: refused")
    port = try reader.int(
      "agent.port", default: 3004, range: 1...65535, help: "HTTP port of `/healthz`, `/readyz` and `/metrics`")
    drainTimeout = .seconds(
      try reader.int(
        "agent.drainTimeout", default: 20, range: 0...86_400,
        help: "seconds a draining agent (SIGTERM) waits for its rooms to close"))
    workerPath = try reader.string(
      "agent.workerPath", default: "", help: "the erizo-worker executable; empty: beside the erizo executable")
  }
}

/// `rov.*`: the Prometheus exporter (spec §9).
public struct ROVConfiguration: Sendable {
  public var port: Int
  public var statsPeriod: Duration
  public var statsPrefix: String

  init(_ reader: ConfigReader) throws(ErizoError) {
    port = try reader.int("rov.port", default: 3005, range: 1...65535, help: "HTTP port of `/metrics`")
    statsPeriod = .milliseconds(
      try reader.int("rov.statsPeriod", default: 20_000, range: 1000...3_600_000, help: "gather period in ms"))
    statsPrefix = try reader.string("rov.statsPrefix", default: "mediasoup_", help: "prefix of the cluster gauges")
  }
}

enum IPAddressValidation {
  static func require(_ text: String, key: String) throws(ErizoError) {
    var v4 = in_addr()
    var v6 = in6_addr()
    guard inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1 else {
      throw ErizoError(.invalidConfigValue, "\(key) must be an IPv4 or IPv6 address, got '\(text)'")
    }
  }
}
