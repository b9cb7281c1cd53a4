internal import Foundation
public import Logging
internal import Synchronization

/// The log handler executables bootstrap: one line per record on standard error, as text for
/// people or as a JSON object for collectors (`log.format`). Libraries never construct it.
public struct ErizoLogHandler: LogHandler {
  public var logLevel: Logger.Level
  public var metadata: Logger.Metadata = [:]
  private let label: String
  private let json: Bool
  private static let output = Mutex(())

  public init(label: String, level: Logger.Level, json: Bool) {
    self.label = label
    self.logLevel = level
    self.json = json
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var merged = metadata
    if let extra = event.metadata { merged.merge(extra) { _, new in new } }
    let timestamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    var line: String
    if json {
      var object: [String: String] = [
        "ts": timestamp, "level": event.level.rawValue, "logger": label, "msg": event.message.description,
      ]
      for (key, value) in merged { object[key] = "\(value)" }
      line =
        "{" + object.keys.sorted().map { "\(Self.quoted($0)):\(Self.quoted(object[$0]!))" }.joined(separator: ",") + "}"
    } else {
      line = "\(timestamp) \(event.level.rawValue) \(label): \(event.message)"
      for key in merged.keys.sorted() { line += " \(key)=\(merged[key]!)" }
    }
    line += "\n"
    Self.output.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
  }

  private static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  /// Installs this handler for the whole process. Executables only (swift-log best practice 003).
  public static func bootstrap(_ configuration: LogConfiguration) {
    let level = Logger.Level(rawValue: configuration.level) ?? .info
    LoggingSystem.bootstrap { label in
      ErizoLogHandler(label: label, level: level, json: configuration.format == .json)
    }
  }
}
