internal import Metrics

/// The bus's counters. The fixed ones are created once; the per-method ones (calls, latency,
/// timeouts, by the RPC method called — a set fixed by the code) are looked up in the factory's
/// cache per call.
struct BusMetrics: Sendable {
  let unavailable = Counter(label: "erizo_bus_calls_unavailable_total")
  let served = Counter(label: "erizo_bus_requests_served_total")
  let malformed = Counter(label: "erizo_bus_malformed_messages_total")
  let unknownCorrelation = Counter(label: "erizo_bus_unknown_corrid_replies_total")
  let disconnects = Counter(label: "erizo_bus_disconnects_total")

  func recordCall(method: String) {
    Counter(label: "erizo_bus_calls_total", dimensions: [("method", method)]).increment()
  }

  func recordTimeout(method: String) {
    Counter(label: "erizo_bus_call_timeouts_total", dimensions: [("method", method)]).increment()
  }

  func recordLatency(_ duration: Duration, method: String) {
    let (seconds, attoseconds) = duration.components
    Timer(label: "erizo_bus_call_duration_seconds", dimensions: [("method", method)], preferredDisplayUnit: .seconds)
      .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
  }
}
