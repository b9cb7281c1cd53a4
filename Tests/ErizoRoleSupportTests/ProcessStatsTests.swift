import Foundation
import Testing

@testable import ErizoRoleSupport

@Suite("process figures from /proc")
struct ProcessStatsTests {
  @Test func processTicksSkipTheCommandName() {
    // A command name with spaces and parentheses; utime 1500 and stime 250 are fields 14 and 15.
    let line = "4242 (erizo (w) 1) S 1 4242 4242 0 -1 4194560 900 0 0 0 1500 250 0 0 20 0 3 0 100 0"
    #expect(ProcessStats.parseProcessTicks(line) == 1750)
    #expect(ProcessStats.parseProcessTicks("garbage") == nil)
  }

  @Test func hostTicksCountIdleAndIOWaitAsIdle() throws {
    let text = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n"
    let ticks = try #require(ProcessStats.parseHostTicks(text))
    #expect(ticks.busy == 150)
    #expect(ticks.total == 1000)
    #expect(ProcessStats.parseHostTicks("intr 1 2 3") == nil)
  }

  @Test func memoryFractionFromMeminfo() {
    let text = "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n"
    #expect(ProcessStats.parseMemoryFraction(text) == 0.75)
    #expect(ProcessStats.parseMemoryFraction("") == 0)
  }

  @Test func cpuMeterMeasuresBetweenReadings() {
    var meter = CPUMeter()
    let start = ContinuousClock.now
    meter.record(ticks: 1000, at: start)
    #expect(meter.percent == 0)
    // Half a core for two seconds: ticksPerSecond ticks.
    meter.record(ticks: 1000 + UInt64(ProcessStats.ticksPerSecond), at: start + .seconds(2))
    #expect(abs(meter.percent - 50) < 0.001)
  }

  @Test func readsThisProcess() {
    #expect(ProcessStats.processTicks(getpid()) != nil)
    #expect(ProcessStats.residentBytes(getpid()) > 0)
    #expect(ProcessStats.hostTicks() != nil)
  }
}

@Suite("process metrics in the exposition")
struct ProcessMetricsTests {
  @Test func theExpositionCarriesTheStandardProcessSeries() throws {
    let text = ProcessMetrics.processSeries()
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      let parts = line.split(separator: " ")
      if parts.count == 2 { values[String(parts[0])] = Double(parts[1]) }
    }
    #expect((values["process_cpu_seconds_total"] ?? -1) >= 0)
    #expect((values["process_resident_memory_bytes"] ?? 0) > 1_000_000)
    #expect((values["process_open_fds"] ?? 0) >= 3)
    let start = try #require(values["process_start_time_seconds"])
    #expect(start > 1_700_000_000 && start <= Date().timeIntervalSince1970)
    #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
  }
}
