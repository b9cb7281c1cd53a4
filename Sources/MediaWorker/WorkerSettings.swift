public import ErizoCore

/// The worker's start options, given as `--name=value` arguments (spec media-worker §1).
public struct WorkerSettings: Sendable, Equatable {
  public enum LogLevel: String, Sendable { case debug, warn, error, none }
  public static let knownTags: Set<String> = [
    "info", "ice", "dtls", "rtp", "srtp", "rtcp", "rtx", "bwe", "score", "simulcast", "svc", "sctp", "message",
  ]

  public var logLevel: LogLevel = .error
  public var logTags: [String] = []
  public var rtcMinPort = 10000
  public var rtcMaxPort = 59999

  public init() {}

  /// Parses `--logLevel=…`, `--logTag=…` (repeatable), `--rtcMinPort=…`, `--rtcMaxPort=…`.
  public init(arguments: [String]) throws(ErizoError) {
    for argument in arguments {
      guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else {
        throw ErizoError(.invalidConfigValue, "bad worker argument '\(argument)'")
      }
      let name = String(argument[argument.index(argument.startIndex, offsetBy: 2)..<equals])
      let value = String(argument[argument.index(after: equals)...])
      switch name {
      case "logLevel":
        guard let level = LogLevel(rawValue: value) else {
          throw ErizoError(.invalidConfigValue, "--logLevel must be debug, warn, error or none")
        }
        logLevel = level
      case "logTag", "logTags":
        guard Self.knownTags.contains(value) else {
          throw ErizoError(.invalidConfigValue, "unknown log tag '\(value)'")
        }
        logTags.append(value)
      case "rtcMinPort", "rtcMaxPort":
        guard let port = Int(value), (1024...65535).contains(port) else {
          throw ErizoError(.invalidConfigValue, "--\(name) must be a port from 1024 to 65535")
        }
        if name == "rtcMinPort" { rtcMinPort = port } else { rtcMaxPort = port }
      default:
        throw ErizoError(.invalidConfigValue, "unknown worker setting --\(name)")
      }
    }
    guard rtcMinPort <= rtcMaxPort else { throw ErizoError(.invalidConfigValue, "rtcMinPort is above rtcMaxPort") }
  }
}
