internal import Metrics

/// The agent's swift-metrics handles, made once (exported by the ROV/metrics issue's backend).
struct AgentMetrics: Sendable {
  let rooms = Gauge(label: "erizo_agent_rooms")
  let clients = Gauge(label: "erizo_agent_clients")
  let transports = Gauge(label: "erizo_agent_transports")
  let producers = Gauge(label: "erizo_agent_producers")
  let consumers = Gauge(label: "erizo_agent_consumers")
  let workersRunning = Gauge(label: "erizo_agent_workers_running")
  let iceDisconnections = Counter(label: "erizo_agent_ice_disconnections_total")
  let dtlsFailures = Counter(label: "erizo_agent_dtls_failures_total")
  let placementsRefused = Counter(label: "erizo_agent_placements_refused_total")

  /// Per-worker CPU (percent of one core) and resident memory.
  func record(_ workers: [WorkerPool.WorkerInfo]) {
    for worker in workers {
      let dimensions = [("worker", String(worker.index))]
      Gauge(label: "erizo_agent_worker_cpu_percent", dimensions: dimensions).record(worker.cpuPercent)
      Gauge(label: "erizo_agent_worker_memory_bytes", dimensions: dimensions).record(worker.residentBytes)
      Gauge(label: "erizo_agent_worker_routers", dimensions: dimensions).record(worker.routers)
    }
    workersRunning.record(workers.filter(\.running).count)
  }
}
