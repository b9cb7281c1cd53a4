/// Reads typed configuration values from a parsed config file and the environment, and records
/// every key it was asked for, so that anything left over can be reported as unknown.
///
/// Precedence, lowest first: the default in code, the config file, the reference environment
/// variables (`RABBITMQ_URL`, `PUBLIC_IP`, … in the order given), then the generated `ERIZO_*` name
/// (`controller.warningRooms` → `ERIZO_CONTROLLER_WARNING_ROOMS`).
public final class ConfigReader {
  /// One documented key, as listed by `erizo config keys` and in `docs/configuration.md`.
  public struct KeyDescription: Sendable, Hashable {
    public let key: String
    public let type: String
    public let defaultValue: String
    public let environment: [String]
    public let help: String
  }

  private let file: JSONValue?
  private let environment: [String: String]
  private var visited: Set<String> = []
  private var consumedEnvironment: Set<String> = []
  public private(set) var keys: [KeyDescription] = []

  public init(file: JSONValue?, environment: [String: String]) {
    self.file = file
    self.environment = environment
  }

  /// The generated environment name of a dotted key.
  public static func environmentName(of key: String) -> String {
    var out = "ERIZO_"
    var previousWasLower = false
    for character in key {
      if character == "." {
        out.append("_")
        previousWasLower = false
      } else if character.isUppercase {
        if previousWasLower { out.append("_") }
        out.append(character)
        previousWasLower = false
      } else {
        out.append(contentsOf: character.uppercased())
        previousWasLower = character.isLowercase || character.isNumber
      }
    }
    return out
  }

  private func fileValue(_ key: String) -> JSONValue? {
    var node = file
    for part in key.split(separator: ".") {
      guard let current = node, case .object(let values) = current else { return nil }
      node = values[String(part)]
    }
    return node
  }

  /// The winning raw value and where it came from.
  private func lookup(_ key: String, environmentNames: [String]) -> (JSONValue, String)? {
    visited.insert(key)
    let names = environmentNames + [Self.environmentName(of: key)]
    var result: (JSONValue, String)?
    if let value = fileValue(key) { result = (value, "config key '\(key)'") }
    for name in names {
      consumedEnvironment.insert(name)
      if let value = environment[name] { result = (.string(value), "environment variable \(name)") }
    }
    return result
  }

  private func describe(_ key: String, _ type: String, _ defaultValue: String, _ env: [String], _ help: String) {
    guard !keys.contains(where: { $0.key == key }) else { return }
    keys.append(
      KeyDescription(
        key: key, type: type, defaultValue: defaultValue, environment: env + [Self.environmentName(of: key)],
        help: help))
  }

  public func string(
    _ key: String, default defaultValue: String, env: [String] = [], help: String,
    allowed: [String]? = nil
  ) throws(ErizoError) -> String {
    describe(
      key, allowed.map { $0.joined(separator: " \\| ") } ?? "string", defaultValue.isEmpty ? "(empty)" : defaultValue,
      env, help)
    guard let (value, source) = lookup(key, environmentNames: env) else { return defaultValue }
    guard case .string(let text) = value else {
      throw ErizoError(.invalidConfigValue, "\(source) must be a string, got \(value.typeName)")
    }
    if let allowed, !allowed.contains(text) {
      throw ErizoError(
        .invalidConfigValue, "\(source) must be one of \(allowed.joined(separator: ", ")); got '\(text)'")
    }
    return text
  }

  public func int(
    _ key: String, default defaultValue: Int, range: ClosedRange<Int>, env: [String] = [],
    help: String
  ) throws(ErizoError) -> Int {
    describe(key, "integer \(range.lowerBound)…\(range.upperBound)", String(defaultValue), env, help)
    guard let (value, source) = lookup(key, environmentNames: env) else { return defaultValue }
    let number: Int?
    switch value {
    case .int(let int): number = int
    case .string(let text): number = Int(text.trimmingWhitespace())
    default: number = nil
    }
    guard let number else {
      throw ErizoError(.invalidConfigValue, "\(source) must be an integer, got \(value)")
    }
    guard range.contains(number) else {
      throw ErizoError(
        .invalidConfigValue, "\(source) must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
    }
    return number
  }

  public func bool(_ key: String, default defaultValue: Bool, env: [String] = [], help: String) throws(ErizoError)
    -> Bool
  {
    describe(key, "boolean", String(defaultValue), env, help)
    guard let (value, source) = lookup(key, environmentNames: env) else { return defaultValue }
    switch value {
    case .bool(let bool): return bool
    case .string(let text):
      switch text.trimmingWhitespace().lowercased() {
      case "true", "1", "yes", "on": return true
      case "false", "0", "no", "off", "": return false
      default: break
      }
    default: break
    }
    throw ErizoError(.invalidConfigValue, "\(source) must be a boolean, got \(value)")
  }

  /// A value kept as JSON (for example the agent's metadata object). Environment values are parsed as JSON.
  public func json(_ key: String, default defaultValue: JSONValue, env: [String] = [], help: String)
    throws(ErizoError) -> JSONValue
  {
    describe(key, "JSON", defaultValue.jsonText, env, help)
    guard let (value, source) = lookup(key, environmentNames: env) else { return defaultValue }
    if source.hasPrefix("environment"), case .string(let text) = value {
      do {
        return try JSONValue(parsing: text)
      } catch {
        throw ErizoError(.invalidConfigValue, "\(source) must be JSON: \(error.message)")
      }
    }
    return value
  }

  /// Fails with a message naming the first key nobody asked for: a config-file key, or an
  /// `ERIZO_*` environment variable that is not the generated name of a known key.
  public func finish() throws(ErizoError) {
    if let file {
      guard case .object = file else {
        throw ErizoError(.invalidConfigValue, "the config file must hold a JSON object")
      }
      if let unknown = firstUnknown(file, path: "") {
        throw ErizoError(.unknownConfigKey, "unknown config key '\(unknown)'")
      }
    }
    let unknownEnvironment = environment.keys.filter { $0.hasPrefix("ERIZO_") && !consumedEnvironment.contains($0) }
    if let name = unknownEnvironment.sorted().first {
      throw ErizoError(.unknownConfigKey, "unknown environment variable \(name)")
    }
  }

  private func firstUnknown(_ node: JSONValue, path: String) -> String? {
    if !path.isEmpty, visited.contains(path) { return nil }
    guard case .object(let values) = node else { return path }
    if values.isEmpty, !path.isEmpty, !visited.contains(where: { $0.hasPrefix(path + ".") }) { return path }
    for key in values.keys.sorted() {
      let child = path.isEmpty ? key : "\(path).\(key)"
      if let unknown = firstUnknown(values[key]!, path: child) { return unknown }
    }
    return nil
  }
}
