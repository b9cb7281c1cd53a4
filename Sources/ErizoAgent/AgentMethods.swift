internal import AMQPRPC
internal import ErizoCore
internal import ErizoRoleSupport
internal import Foundation
internal import Synchronization

/// The agent's bus methods (spec §7): what controllers, Nuve and ROV call on `ErizoAgent`,
/// `ErizoAgent_<id>` and the `ErizoAgent` topic.
struct AgentMethods {
  let core: AgentCore
  let pool: WorkerPool
  let status: AgentStatus
  let agentID: String
  let publicIP: String
  let metadata: JSONValue
  let hostCPU = HostCPU()

  var table: RPCMethodTable {
    var table = RPCMethodTable()
    let (core, pool, status, hostCPU) = (core, pool, status, hostCPU)
    let (agentID, publicIP, metadata) = (agentID, publicIP, metadata)
    table.on("getErizoAgents") { _ in
      .data([
        "info": [
          "id": .string(agentID), "rpc_id": .string("ErizoAgent_\(agentID)"), "ip": .string(publicIP),
          "rooms": .int(await core.roomCount), "state": status.draining ? 0 : 1,
        ],
        "metadata": metadata,
        "stats": ["perc_cpu": .double(hostCPU.fraction()), "perc_mem": .double(ProcessStats.memoryFraction())],
      ])
    }
    table.on("getMediasoupWork") { request in
      let args = request.positionalArgs
      guard let roomID = args.first?.stringValue, !roomID.isEmpty,
        let controllerID = args.dropFirst().first?.stringValue
      else { return .data(AgentCore.error("getMediasoupWork needs [roomId, ecId]", 2000)) }
      return .data(await core.placeRoom(roomID, controllerID: controllerID))
    }
    table.on("handleUserRequest") { request in
      let args = request.positionalArgs
      guard args.count >= 4, let roomID = args[0].stringValue, let clientID = args[1].stringValue,
        let method = args[3].stringValue
      else { return .data(AgentCore.error("ea error!", 2000)) }
      let data = args.count > 4 ? args[4] : .object([:])
      guard case .object = data else { return .data(AgentCore.error("request data must be an object", 2000)) }
      return .data(
        await core.handleUserRequest(
          roomID: roomID, clientID: clientID, userName: args[2].stringValue ?? "", method: method, data: data))
    }
    table.on("deleteUser") { request in
      let args = request.positionalArgs
      if let roomID = args.first?.stringValue, let clientID = args.dropFirst().first?.stringValue {
        await core.deleteUser(roomID: roomID, clientID: clientID)
      }
      return .none
    }
    table.on("handleEcDown") { request in
      if let controllerID = request.positionalArgs.first?.stringValue { await core.controllerDown(controllerID) }
      return .none
    }
    table.on("getWorkerInfo") { _ in
      let workers = await pool.sample().compactMap { worker -> JSONValue? in
        guard let pid = worker.pid else { return nil }
        return ["pid": .int(Int(pid)), "rate": .string(String(format: "%.2f", worker.cpuPercent))]
      }
      return .data(["info": .array(workers)])
    }
    table.on("getStats") { _ in
      let workers = await pool.sample().map { worker -> JSONValue in
        [
          "index": .int(worker.index), "pid": worker.pid.map { .int(Int($0)) } ?? .null,
          "running": .bool(worker.running), "routers": .int(worker.routers), "cpu": .double(worker.cpuPercent),
          "memory": .int(worker.residentBytes), "restarts": .int(worker.restarts),
          "receivedPackets": .int(worker.traffic.receivedPackets), "receivedBytes": .int(worker.traffic.receivedBytes),
          "forwardedPackets": .int(worker.traffic.forwardedPackets),
          "forwardedBytes": .int(worker.traffic.forwardedBytes),
        ]
      }
      var reply = await core.statistics.objectValue ?? [:]
      reply["id"] = .string(agentID)
      reply["state"] = status.draining ? 0 : 1
      reply["workers"] = .array(workers)
      reply["host"] = ["perc_cpu": .double(hostCPU.fraction()), "perc_mem": .double(ProcessStats.memoryFraction())]
      return .data(.object(reply))
    }
    return table
  }
}

/// Host CPU use as a fraction 0…1 since the previous reading (the `getErizoAgents` poll every 2 s).
final class HostCPU: Sendable {
  private let last = Mutex<(busy: UInt64, total: UInt64)?>(nil)
  private let value = Mutex(0.0)

  func fraction() -> Double {
    guard let now = ProcessStats.hostTicks() else { return value.withLock { $0 } }
    let previous = last.withLock { state in
      defer { state = now }
      return state
    }
    guard let previous, now.total > previous.total, now.busy >= previous.busy else { return value.withLock { $0 } }
    let fraction = Double(now.busy - previous.busy) / Double(now.total - previous.total)
    value.withLock { $0 = fraction }
    return fraction
  }
}
