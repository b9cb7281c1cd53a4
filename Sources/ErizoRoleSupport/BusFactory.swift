public import AMQPRPC
internal import ErizoCore
public import Logging

/// Builds the bus a process uses from its configuration.
public enum BusFactory {
  /// The in-process broker when one is given and `bus.url` is unset; otherwise RabbitMQ at `bus.url`
  /// (127.0.0.1:5672 as guest when unset).
  public static func make(_ configuration: BusConfiguration, inProcess broker: InProcessBroker?, logger: Logger)
    -> MessageBus
  {
    if let broker, configuration.url == nil {
      logger.info("using the in-process bus")
      return MessageBus(
        transport: InProcessTransport(broker: broker), logger: logger, defaultTimeout: configuration.rpcTimeout)
    }
    let endpoint = configuration.url ?? BusConfiguration.defaultEndpoint
    logger.info("using RabbitMQ", metadata: ["bus.url": "\(endpoint)"])
    let options = RabbitMQTransport.Options(
      endpoint: endpoint, heartbeat: configuration.heartbeat, maximumReconnectDelay: configuration.reconnectMaxDelay)
    return MessageBus(
      transport: RabbitMQTransport(options: options, logger: logger), logger: logger,
      defaultTimeout: configuration.rpcTimeout)
  }
}
