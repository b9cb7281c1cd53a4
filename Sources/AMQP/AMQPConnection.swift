internal import CRabbitMQ
public import ErizoCore
internal import Glibc

/// One message taken off a queue.
public struct AMQPDelivery: Sendable {
  public let consumerTag: String
  public let routingKey: String
  public let body: [UInt8]
}

/// The exchange kinds the reference topology uses.
public enum AMQPExchangeType: String, Sendable {
  case direct
  case topic
  case fanout
}

/// A thin owner of one rabbitmq-c connection with one channel.
///
/// rabbitmq-c is blocking and not thread-safe: a connection must be created, used and closed on
/// one thread. This type is deliberately not `Sendable`; `RabbitMQTransport` gives it a thread.
public final class AMQPConnection {
  private let state: amqp_connection_state_t
  /// Whether channel 1 is open and close frames should be sent; `deinit` always destroys `state`.
  private var open = false
  private static let channel: amqp_channel_t = 1

  /// Opens a TCP connection, logs in and opens channel 1.
  /// - Parameters:
  ///   - heartbeat: seconds; 0 disables heartbeats. The reference uses 8.
  ///   - connectTimeout: seconds for the TCP connect.
  public init(endpoint: AMQPEndpoint, heartbeat: Int = 8, connectTimeout: Int = 5) throws(ErizoError) {
    guard let state = amqp_new_connection() else { throw ErizoError(.amqp, "amqp_new_connection failed") }
    self.state = state
    // From here on a throw still runs deinit, which destroys `state` exactly once.
    guard let socket = amqp_tcp_socket_new(state) else {
      throw ErizoError(.amqp, "amqp_tcp_socket_new failed")
    }
    var timeout = timeval(tv_sec: connectTimeout, tv_usec: 0)
    let status = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &timeout)
    guard status == AMQP_STATUS_OK.rawValue else {
      throw ErizoError(.amqp, "cannot connect to \(endpoint): \(Self.statusText(status))")
    }
    let login = erizo_amqp_login_plain(
      state, endpoint.virtualHost, 0, 131_072, Int32(heartbeat), endpoint.user, endpoint.password)
    if let error = Self.replyError(login, "login to \(endpoint)") { throw error }
    amqp_channel_open(state, Self.channel)
    if let error = Self.replyError(amqp_get_rpc_reply(state), "channel.open") {
      amqp_connection_close(state, AMQP_REPLY_SUCCESS)
      throw error
    }
    open = true
  }

  deinit {
    close()
    amqp_destroy_connection(state)
  }

  /// Closes the channel and the connection; errors are ignored because the socket may be gone.
  public func close() {
    guard open else { return }
    open = false
    amqp_channel_close(state, Self.channel, AMQP_REPLY_SUCCESS)
    amqp_connection_close(state, AMQP_REPLY_SUCCESS)
  }

  /// The socket, for `poll(2)` by the owning thread.
  public var socketDescriptor: Int32 { amqp_get_sockfd(state) }

  /// Whether frames are already read and waiting, so polling the socket would miss them.
  public var hasBufferedInput: Bool {
    amqp_frames_enqueued(state) != 0 || amqp_data_in_buffer(state) != 0
  }

  public func declareExchange(_ name: String, type: AMQPExchangeType, durable: Bool, autoDelete: Bool)
    throws(ErizoError)
  {
    name.withAMQPBytes { nameBytes in
      type.rawValue.withAMQPBytes { typeBytes in
        _ = amqp_exchange_declare(
          state, Self.channel, nameBytes, typeBytes, 0, durable ? 1 : 0, autoDelete ? 1 : 0, 0, amqp_empty_table)
      }
    }
    try check("exchange.declare \(name)")
  }

  /// Declares a queue; an empty name asks the broker for one. Returns the queue's name.
  public func declareQueue(_ name: String, durable: Bool, exclusive: Bool, autoDelete: Bool) throws(ErizoError)
    -> String
  {
    let declared: String? = name.withAMQPBytes { nameBytes in
      guard
        let ok = amqp_queue_declare(
          state, Self.channel, nameBytes, 0, durable ? 1 : 0, exclusive ? 1 : 0, autoDelete ? 1 : 0,
          amqp_empty_table)
      else { return nil }
      return String(amqpBytes: ok.pointee.queue)
    }
    try check("queue.declare \(name)")
    guard let declared else { throw ErizoError(.amqp, "queue.declare \(name) returned nothing") }
    return declared
  }

  public func bindQueue(_ queue: String, exchange: String, routingKey: String) throws(ErizoError) {
    queue.withAMQPBytes { queueBytes in
      exchange.withAMQPBytes { exchangeBytes in
        routingKey.withAMQPBytes { keyBytes in
          _ = amqp_queue_bind(state, Self.channel, queueBytes, exchangeBytes, keyBytes, amqp_empty_table)
        }
      }
    }
    try check("queue.bind \(queue) to \(exchange) with '\(routingKey)'")
  }

  /// Starts consuming with automatic acknowledgement (the reference's `noAck`).
  public func consume(queue: String, consumerTag: String) throws(ErizoError) {
    queue.withAMQPBytes { queueBytes in
      consumerTag.withAMQPBytes { tagBytes in
        _ = amqp_basic_consume(state, Self.channel, queueBytes, tagBytes, 0, 1, 0, amqp_empty_table)
      }
    }
    try check("basic.consume \(queue)")
  }

  /// Publishes a transient message with `content_type: application/json`, as node-amqp needs.
  public func publish(exchange: String, routingKey: String, body: [UInt8]) throws(ErizoError) {
    let status: Int32 = exchange.withAMQPBytes { exchangeBytes in
      routingKey.withAMQPBytes { keyBytes in
        "application/json".withAMQPBytes { contentType in
          body.withUnsafeBytes { raw in
            var properties = amqp_basic_properties_t()
            properties._flags = erizo_amqp_basic_content_type_flag() | erizo_amqp_basic_delivery_mode_flag()
            properties.content_type = contentType
            properties.delivery_mode = 1
            let bodyBytes = amqp_bytes_t(len: raw.count, bytes: UnsafeMutableRawPointer(mutating: raw.baseAddress))
            return amqp_basic_publish(state, Self.channel, exchangeBytes, keyBytes, 0, 0, &properties, bodyBytes)
          }
        }
      }
    }
    guard status == AMQP_STATUS_OK.rawValue else {
      throw ErizoError(.amqp, "basic.publish to \(exchange)/\(routingKey): \(Self.statusText(status))")
    }
  }

  /// Returns the next delivery if one has started to arrive within `timeoutMilliseconds`
  /// (0 = only what is readable now), else nil. Also drives heartbeats, so call it at least every
  /// few seconds. Throws when the connection or channel is gone.
  ///
  /// Works frame by frame (wait for a method frame without blocking, then read the header and
  /// body frames of that message), because `amqp_consume_message` with a timeout can stop half-way
  /// through a message and leave the connection in an undefined state.
  public func nextDelivery(timeoutMilliseconds: Int) throws(ErizoError) -> AMQPDelivery? {
    if amqp_frames_enqueued(state) == 0, amqp_data_in_buffer(state) == 0 {
      amqp_maybe_release_buffers(state)
    }
    var frame = amqp_frame_t()
    var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
    let status = amqp_simple_wait_frame_noblock(state, &frame, &timeout)
    if status == AMQP_STATUS_TIMEOUT.rawValue { return nil }
    guard status == AMQP_STATUS_OK.rawValue else {
      throw ErizoError(.amqp, "reading a frame: \(Self.statusText(status))")
    }
    guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return nil }  // stray content frame
    switch frame.payload.method.id {
    case AMQP_BASIC_DELIVER_METHOD:
      let deliver = frame.payload.method.decoded.assumingMemoryBound(to: amqp_basic_deliver_t.self).pointee
      let consumerTag = String(amqpBytes: deliver.consumer_tag)
      let routingKey = String(amqpBytes: deliver.routing_key)
      var message = amqp_message_t()
      let reply = amqp_read_message(state, frame.channel, &message, 0)
      guard reply.reply_type == AMQP_RESPONSE_NORMAL else {
        throw ErizoError(.amqp, "reading a message: \(Self.describe(reply))")
      }
      defer { amqp_destroy_message(&message) }
      let body: [UInt8]
      if message.body.len > 0, let bytes = message.body.bytes {
        body = Array(UnsafeRawBufferPointer(start: bytes, count: message.body.len))
      } else {
        body = []
      }
      return AMQPDelivery(consumerTag: consumerTag, routingKey: routingKey, body: body)
    case AMQP_CHANNEL_CLOSE_METHOD:
      throw ErizoError(.amqp, "the broker closed the channel")
    case AMQP_CONNECTION_CLOSE_METHOD:
      throw ErizoError(.amqp, "the broker closed the connection")
    default:
      return nil  // basic.cancel, basic.return …: nothing to do
    }
  }

  private func check(_ what: String) throws(ErizoError) {
    if let error = Self.replyError(amqp_get_rpc_reply(state), what) { throw error }
  }

  private static func replyError(_ reply: amqp_rpc_reply_t, _ what: String) -> ErizoError? {
    reply.reply_type == AMQP_RESPONSE_NORMAL ? nil : ErizoError(.amqp, "\(what): \(describe(reply))")
  }

  static func statusText(_ status: Int32) -> String {
    String(cString: amqp_error_string2(status))
  }

  private static func describe(_ reply: amqp_rpc_reply_t) -> String {
    switch reply.reply_type {
    case AMQP_RESPONSE_NONE:
      return "no reply"
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      return statusText(reply.library_error)
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      switch reply.reply.id {
      case AMQP_CONNECTION_CLOSE_METHOD:
        let close = reply.reply.decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
        return "connection closed by broker: \(close.reply_code) \(String(amqpBytes: close.reply_text))"
      case AMQP_CHANNEL_CLOSE_METHOD:
        let close = reply.reply.decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
        return "channel closed by broker: \(close.reply_code) \(String(amqpBytes: close.reply_text))"
      default:
        return "broker error, method \(reply.reply.id)"
      }
    default:
      return "unknown reply type"
    }
  }
}

extension String {
  /// Passes the UTF-8 bytes as an `amqp_bytes_t` that is valid only inside `body`.
  fileprivate func withAMQPBytes<R>(_ body: (amqp_bytes_t) -> R) -> R {
    var copy = self
    return copy.withUTF8 { buffer in
      body(amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress)))
    }
  }

  fileprivate init(amqpBytes bytes: amqp_bytes_t) {
    guard bytes.len > 0, let pointer = bytes.bytes else {
      self = ""
      return
    }
    self = String(decoding: UnsafeRawBufferPointer(start: pointer, count: bytes.len), as: UTF8.self)
  }
}
