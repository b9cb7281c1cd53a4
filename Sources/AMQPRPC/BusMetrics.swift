internal import Metrics

/// The bus's counters, created once (swift-metrics handles are cached, not looked up per call).
struct BusMetrics: Sendable {
  let calls = Counter(label: "erizo_bus_calls_total")
  let timeouts = Counter(label: "erizo_bus_call_timeouts_total")
  let unavailable = Counter(label: "erizo_bus_calls_unavailable_total")
  let served = Counter(label: "erizo_bus_requests_served_total")
  let malformed = Counter(label: "erizo_bus_malformed_messages_total")
  let unknownCorrelation = Counter(label: "erizo_bus_unknown_corrid_replies_total")
  let disconnects = Counter(label: "erizo_bus_disconnects_total")
  let latency = Timer(label: "erizo_bus_call_duration_seconds", preferredDisplayUnit: .seconds)

  func recordLatency(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    latency.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }
}
