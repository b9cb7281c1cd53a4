internal import Foundation

/// CPU and memory figures from `/proc`, as the reference agent reports them: per-worker CPU from
/// `/proc/<pid>/stat` tick deltas, host CPU from `/proc/stat`, memory from `/proc/meminfo`.
public enum ProcessStats {
  /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
  public static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

  /// utime + stime of a process, in ticks; nil when the process is gone.
  public static func processTicks(_ pid: Int32) -> UInt64? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
    return parseProcessTicks(text)
  }

  /// Fields 14 and 15 of `/proc/<pid>/stat` (utime, stime).
  public static func parseProcessTicks(_ text: String) -> UInt64? {
    guard let user = statField(14, of: text).flatMap({ UInt64($0) }),
      let system = statField(15, of: text).flatMap({ UInt64($0) })
    else { return nil }
    return user + system
  }

  /// Field `number` (1-based, as proc(5) numbers them) of a `/proc/<pid>/stat` line, counted after
  /// the parenthesised command name (which may itself hold spaces and parentheses); fields 1 and 2
  /// are not served.
  public static func statField(_ number: Int, of text: String) -> Substring? {
    guard number >= 3, let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // fields[0] is field 3 (state).
    return fields.count > number - 3 ? fields[number - 3] : nil
  }

  /// (busy, total) jiffies of the whole host from the first line of `/proc/stat`.
  public static func hostTicks() -> (busy: UInt64, total: UInt64)? {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
    return parseHostTicks(text)
  }

  public static func parseHostTicks(_ text: String) -> (busy: UInt64, total: UInt64)? {
    guard let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
    let values = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
    guard values.count >= 4 else { return nil }
    let total = values.reduce(0, +)
    // idle (4th) and iowait (5th) are not busy.
    let idle = values[3] + (values.count > 4 ? values[4] : 0)
    return (total - idle, total)
  }

  /// Used memory as a fraction 0…1: 1 − MemAvailable / MemTotal.
  public static func memoryFraction() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return 0 }
    return parseMemoryFraction(text)
  }

  public static func parseMemoryFraction(_ text: String) -> Double {
    var total = 0.0
    var available = 0.0
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count >= 2, let value = Double(parts[1]) else { continue }
      if parts[0] == "MemTotal:" { total = value }
      if parts[0] == "MemAvailable:" { available = value }
    }
    return total > 0 ? max(0, min(1, 1 - available / total)) : 0
  }

  /// Resident memory of a process in bytes (VmRSS of `/proc/<pid>/status`).
  public static func residentBytes(_ pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      let parts = line.split(separator: " ", omittingEmptySubsequences: true)
      if parts.count >= 2, let kilobytes = Int(parts[1]) { return kilobytes * 1024 }
    }
    return 0
  }
}

/// Turns successive tick readings into a CPU percentage over the interval between them.
public struct CPUMeter: Sendable {
  private var last: (ticks: UInt64, at: ContinuousClock.Instant)?
  public private(set) var percent = 0.0

  public init() {}

  /// Records a reading; the percentage covers the time since the previous one (100 = one core).
  public mutating func record(ticks: UInt64, at now: ContinuousClock.Instant) {
    if let last, ticks >= last.ticks {
      let elapsed = now - last.at
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      if seconds > 0 { percent = Double(ticks - last.ticks) / ProcessStats.ticksPerSecond / seconds * 100 }
    }
    last = (ticks, now)
  }
}
