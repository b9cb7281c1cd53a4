public import ErizoCore
internal import Foundation

/// Every role's configuration, loaded together so that one file can hold all sections and any key
/// no role knows is reported. Defaults live in code; see `docs/configuration.md` for the table.
public struct ErizoConfiguration: Sendable {
  public var log: LogConfiguration
  public var bus: BusConfiguration
  public var nuve: NuveConfiguration
  public var controller: ControllerConfiguration
  public var agent: AgentConfiguration
  public var rov: ROVConfiguration

  /// Every key with its type, default, environment names and help, in load order.
  public let keys: [ConfigReader.KeyDescription]

  /// Loads from an optional JSON file and the environment, then validates.
  public static func load(file path: String?, environment: [String: String]) throws(ErizoError) -> ErizoConfiguration {
    var json: JSONValue?
    if let path {
      guard let data = FileManager.default.contents(atPath: path) else {
        throw ErizoError(.unreadableConfig, "cannot read config file \(path)")
      }
      do {
        json = try JSONValue(parsing: data)
      } catch {
        throw ErizoError(.unreadableConfig, "config file \(path) is not valid JSON: \(error.message)")
      }
    }
    return try load(json: json, environment: environment)
  }

  public static func load(json: JSONValue?, environment: [String: String]) throws(ErizoError) -> ErizoConfiguration {
    let reader = ConfigReader(file: json, environment: environment)
    let log = try LogConfiguration(reader)
    let bus = try BusConfiguration(reader)
    let nuve = try NuveConfiguration(reader)
    let controller = try ControllerConfiguration(reader)
    let agent = try AgentConfiguration(reader)
    let rov = try ROVConfiguration(reader)
    try reader.finish()
    return ErizoConfiguration(
      log: log, bus: bus, nuve: nuve, controller: controller, agent: agent, rov: rov, keys: reader.keys)
  }

  /// The key table as Markdown, as printed by `erizo config keys` and kept in `docs/configuration.md`.
  public var markdownTable: String {
    var lines = ["| key | type | default | environment | meaning |", "|---|---|---|---|---|"]
    for key in keys {
      let env = key.environment.map { "`\($0)`" }.joined(separator: ", ")
      lines.append("| `\(key.key)` | \(key.type) | `\(key.defaultValue)` | \(env) | \(key.help) |")
    }
    return lines.joined(separator: "\n")
  }
}

/// `log.*`: level and format of every role's log.
public struct LogConfiguration: Sendable {
  public enum Format: String, Sendable { case text, json }
  public var level: String
  public var format: Format

  init(_ reader: ConfigReader) throws(ErizoError) {
    level = try reader.string(
      "log.level", default: "info", help: "lowest level written",
      allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
    format = Format(
      rawValue: try reader.string(
        "log.format", default: "text", help: "`text` for people, `json` (one object per line) for collectors",
        allowed: ["text", "json"]))!
  }
}

/// `bus.*`: how roles reach each other (spec §6).
public struct BusConfiguration: Sendable {
  /// The broker; nil means unset: separate roles then use `amqp://guest:guest@127.0.0.1:5672`,
  /// and `erizo all` uses the in-process bus.
  public var url: AMQPEndpoint?
  public var heartbeat: Int
  public var rpcTimeout: Duration
  public var reconnectMaxDelay: Duration

  public static let defaultEndpoint = AMQPEndpoint(host: "127.0.0.1", port: 5672, user: "guest", password: "guest")

  init(_ reader: ConfigReader) throws(ErizoError) {
    let text = try reader.string(
      "bus.url", default: "", env: ["RABBITMQ_URL"],
      help:
        "RabbitMQ URL: `amqp://user:pass@host:port/vhost` or the reference's `amqp:user:pass@host:port`; empty: 127.0.0.1:5672 as guest for separate roles, the in-process bus for `erizo all`"
    )
    if text.isEmpty {
      url = nil
    } else {
      do {
        url = try AMQPEndpoint(url: text)
      } catch {
        throw ErizoError(.invalidConfigValue, "bus.url / RABBITMQ_URL: \(error.message)")
      }
    }
    heartbeat = try reader.int("bus.heartbeat", default: 8, range: 0...600, help: "AMQP heartbeat in seconds (0 = off)")
    rpcTimeout = .milliseconds(
      try reader.int("bus.rpcTimeout", default: 10_000, range: 100...600_000, help: "default RPC timeout in ms"))
    reconnectMaxDelay = .milliseconds(
      try reader.int(
        "bus.reconnectMaxDelay", default: 5_000, range: 100...600_000,
        help: "longest wait between reconnection attempts in ms (backoff starts at 100 ms)"))
  }
}
