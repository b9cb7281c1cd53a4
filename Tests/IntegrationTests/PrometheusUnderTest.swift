import ErizoCore
import Foundation

/// A real Prometheus (Debian's) on loopback, scraping the given targets every second, queried
/// through its HTTP API.
struct PrometheusUnderTest: Sendable {
  static let binary = "/usr/bin/prometheus"
  let port: Int
  let process: Process
  let directory: URL

  /// Starts Prometheus with one job per entry of `jobs` (job name → loopback port).
  init(jobs: [(String, Int)]) throws {
    port = LoopbackPort.free()
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("erizo-prometheus-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var config = "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
    for (job, target) in jobs {
      config += "  - job_name: \(job)\n    static_configs:\n      - targets: [\"127.0.0.1:\(target)\"]\n"
    }
    let configFile = directory.appendingPathComponent("prometheus.yml")
    try config.write(to: configFile, atomically: true, encoding: .utf8)
    process = Process()
    process.executableURL = URL(fileURLWithPath: Self.binary)
    process.arguments = [
      "--config.file=\(configFile.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("data").path)",
      "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try process.run()
  }

  func stop() {
    NuveProcessTests.stop(process)
    try? FileManager.default.removeItem(at: directory)
  }

  /// An instant query: `(status, result)` as Prometheus answers them (`result` an array of
  /// `{metric, value}`); status "unreachable" when nothing answers.
  func query(_ expression: String) -> (status: String, result: [JSONValue]) {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    let encoded = expression.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    let body = HTTPProbe.body("http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)")
    guard let json = try? JSONValue(parsing: Array(body.utf8)) else { return ("unreachable", []) }
    return (json["status"]?.stringValue ?? "?", json["data"]?["result"]?.arrayValue ?? [])
  }

  /// The single value of a query that yields one series (nil otherwise).
  func value(_ expression: String) -> Double? {
    let answer = query(expression)
    guard answer.result.count == 1, let text = answer.result[0]["value"]?.arrayValue?.last?.stringValue else {
      return nil
    }
    return Double(text)
  }
}
