import ErizoCore
import Testing

@Suite("AMQP URLs")
struct AMQPEndpointTests {
  @Test func referenceFormWithoutSlashes() throws {
    // The reference ships `amqp:test:123456@host:5672`; Node reads it as user test, password 123456.
    let endpoint = try AMQPEndpoint(url: "amqp:test:123456@localhost:5672")
    #expect(endpoint == AMQPEndpoint(host: "localhost", port: 5672, user: "test", password: "123456"))
  }

  @Test func standardForms() throws {
    #expect(
      try AMQPEndpoint(url: "amqp://u%40x:p%2Fw@rabbit.example:5673/erizo%2Fvh")
        == AMQPEndpoint(host: "rabbit.example", port: 5673, user: "u@x", password: "p/w", virtualHost: "erizo/vh"))
    #expect(try AMQPEndpoint(url: "amqp://rabbit") == AMQPEndpoint(host: "rabbit"))
    #expect(try AMQPEndpoint(url: "rabbit:1234") == AMQPEndpoint(host: "rabbit", port: 1234))
    #expect(try AMQPEndpoint(url: "amqp://guest:guest@[::1]:5672/") == AMQPEndpoint(host: "::1"))
    #expect(try AMQPEndpoint(url: "amqps://h").port == 5671)
  }

  @Test(arguments: ["", "amqp://", "amqp://host:0", "amqp://host:99999", "amqp://host:abc", "amqp://[::1", "h:%zz@x"])
  func rejectsBadURLs(_ text: String) {
    #expect(throws: ErizoError(.invalidURL, "")) { try AMQPEndpoint(url: text) }
  }

  @Test func descriptionHidesThePassword() throws {
    #expect(try AMQPEndpoint(url: "amqp://u:secret@h:1/v").description == "amqp://u@h:1/v")
  }
}
