internal import Foundation

/// The Prometheus text exposition format (version 0.0.4): families with HELP and TYPE, samples
/// with escaped label values.
struct Exposition {
  enum Kind: String { case gauge, counter, histogram }

  private(set) var text = ""
  private var declared: Set<String> = []

  /// Declares a family once; samples follow with `sample`.
  mutating func family(_ name: String, _ kind: Kind, _ help: String) {
    guard declared.insert(name).inserted else { return }
    text +=
      "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
    text += "# TYPE \(name) \(kind.rawValue)\n"
  }

  mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
    text += name
    if !labels.isEmpty {
      text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
    }
    text += " " + Self.format(value) + "\n"
  }

  /// A gauge family with one unlabelled sample.
  mutating func gauge(_ name: String, _ help: String, _ value: Double) {
    family(name, .gauge, help)
    sample(name, [], value)
  }

  static func escape(_ value: String) -> String {
    value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n")
  }

  static func format(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
  }
}

/// A cumulative histogram of durations in seconds, with fixed buckets.
struct DurationHistogram: Sendable {
  static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
  private(set) var counts = [Int](repeating: 0, count: bounds.count)
  private(set) var count = 0
  private(set) var sum = 0.0

  mutating func observe(_ seconds: Double) {
    for (index, bound) in Self.bounds.enumerated() where seconds <= bound { counts[index] += 1 }
    count += 1
    sum += seconds
  }

  func write(_ name: String, _ labels: [(String, String)], into exposition: inout Exposition) {
    for (index, bound) in Self.bounds.enumerated() {
      exposition.sample(name + "_bucket", labels + [("le", Exposition.format(bound))], Double(counts[index]))
    }
    exposition.sample(name + "_bucket", labels + [("le", "+Inf")], Double(count))
    exposition.sample(name + "_sum", labels, sum)
    exposition.sample(name + "_count", labels, Double(count))
  }
}
