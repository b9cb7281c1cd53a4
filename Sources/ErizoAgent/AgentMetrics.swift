internal import Metrics
internal import Synchronization

/// The agent's swift-metrics handles, made once (exported by the ROV/metrics issue's backend).
final class AgentMetrics: Sendable {
  let rooms = Gauge(label: "erizo_agent_rooms")
  let clients = Gauge(label: "erizo_agent_clients")
  let transports = Gauge(label: "erizo_agent_transports")
  let producers = Gauge(label: "erizo_agent_producers")
  let consumers = Gauge(label: "erizo_agent_consumers")
  /// Mean stream scores (0–10; 10 when nothing is measured).
  let produceScore = Gauge(label: "erizo_agent_produce_score")
  let consumeScore = Gauge(label: "erizo_agent_consume_score")
  let workersRunning = Gauge(label: "erizo_agent_workers_running")
  let iceDisconnections = Counter(label: "erizo_agent_ice_disconnections_total")
  let dtlsFailures = Counter(label: "erizo_agent_dtls_failures_total")
  let placementsRefused = Counter(label: "erizo_agent_placements_refused_total")

  /// The traffic counters last seen per worker (pid and figures), for the counters' increments.
  private let lastTraffic = Mutex<[Int: (pid: Int32?, traffic: WorkerPool.Traffic)]>([:])

  /// Per-worker CPU (percent of one core), resident memory, routers and traffic.
  func record(_ workers: [WorkerPool.WorkerInfo]) {
    for worker in workers {
      let dimensions = [("worker", String(worker.index))]
      // A new process starts its counters at 0: everything it counted is new.
      let previous = lastTraffic.withLock { last in
        let before = last[worker.index]
        last[worker.index] = (worker.pid, worker.traffic)
        return before?.pid == worker.pid ? before!.traffic : WorkerPool.Traffic()
      }
      let increments: [(String, Int, Int)] = [
        ("erizo_agent_received_packets_total", worker.traffic.receivedPackets, previous.receivedPackets),
        ("erizo_agent_received_bytes_total", worker.traffic.receivedBytes, previous.receivedBytes),
        ("erizo_agent_forwarded_packets_total", worker.traffic.forwardedPackets, previous.forwardedPackets),
        ("erizo_agent_forwarded_bytes_total", worker.traffic.forwardedBytes, previous.forwardedBytes),
      ]
      // Every counter exists from the first sample (at 0), so rate() has a start.
      for (label, now, before) in increments {
        Counter(label: label, dimensions: dimensions).increment(by: max(0, now - before))
      }
      Gauge(label: "erizo_agent_worker_cpu_percent", dimensions: dimensions).record(worker.cpuPercent)
      Gauge(label: "erizo_agent_worker_memory_bytes", dimensions: dimensions).record(worker.residentBytes)
      Gauge(label: "erizo_agent_worker_routers", dimensions: dimensions).record(worker.routers)
    }
    workersRunning.record(workers.filter(\.running).count)
  }
}
