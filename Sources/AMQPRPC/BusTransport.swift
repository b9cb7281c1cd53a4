public import ErizoCore

/// Where a delivery came from.
public enum DeliverySource: Hashable, Sendable {
  /// This process's reply queue.
  case reply
  /// A named queue this process serves.
  case queue(String)
  /// A broadcast topic this process subscribes to.
  case topic(String)
}

/// A queue the transport must declare, bind and consume, now and after every reconnection.
public struct QueueBinding: Hashable, Sendable {
  public let source: DeliverySource
  /// For `.queue`: the queue name; for `.topic`: empty (the broker names it).
  public let queueName: String
  public let exchange: String
  public let routingKey: String
}

public enum BusTransportEvent: Sendable {
  case connected(replyQueue: String)
  case disconnected(reason: String)
  case delivery(DeliverySource, [UInt8])
}

/// The seam between the RPC engine and a broker: RabbitMQ, or the in-process broker.
/// Implementations deliver events from any thread, in order per connection.
public protocol BusTransport: Sendable {
  func start(events: @escaping @Sendable (BusTransportEvent) -> Void)
  func addQueue(_ binding: QueueBinding)
  /// Throws `.busUnavailable` when not connected.
  func publish(exchange: String, routingKey: String, body: [UInt8]) throws(ErizoError)
  func stop()
}
