public import AMQPRPC
internal import ErizoCore
public import Logging

/// Builds the bus a process uses from its configuration.
public enum BusFactory {
  /// RabbitMQ when `bus.url` is set (or `useDefaultBroker`), otherwise the given in-process broker.
  public static func make(_ configuration: BusConfiguration, inProcess broker: InProcessBroker?, logger: Logger)
    -> MessageBus
  {
    if let broker, configuration.url == nil {
      logger.info("using the in-process bus")
      return MessageBus(transport: InProcessTransport(broker: broker), logger: logger)
    }
    let endpoint = configuration.url ?? BusConfiguration.defaultEndpoint
    logger.info("using RabbitMQ", metadata: ["bus.url": "\(endpoint)"])
    let options = RabbitMQTransport.Options(
      endpoint: endpoint, heartbeat: configuration.heartbeat, maximumReconnectDelay: configuration.reconnectMaxDelay)
    return MessageBus(transport: RabbitMQTransport(options: options, logger: logger), logger: logger)
  }
}
