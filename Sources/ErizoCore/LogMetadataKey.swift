/// Log metadata keys shared by every role, so one query finds a room or a client across processes.
public enum LogMetadataKey {
  public static let role = "erizo.role"
  public static let roomID = "room.id"
  public static let clientID = "client.id"
  public static let streamID = "stream.id"
  public static let agentID = "agent.id"
  public static let controllerID = "controller.id"
  public static let workerPID = "worker.pid"
  public static let rpcMethod = "rpc.method"
  public static let rpcTarget = "rpc.target"
  public static let rpcCorrelationID = "rpc.corr-id"
  public static let busQueue = "bus.queue"
  public static let error = "error"
}
