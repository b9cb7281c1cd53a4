import Testing

@testable import Nuve

@Suite("Nuve HTTP responder")
struct NuveHTTPResponderTests {
  /// Metrics label requests by route template, so room and user ids never make a series each.
  @Test(arguments: [
    ("/rooms", "/rooms"), ("/rooms/", "/rooms"), ("/rooms/5f3a", "/rooms/{room}"),
    ("/rooms/5f3a/tokens", "/rooms/{room}/tokens"), ("/rooms/5f3a/users", "/rooms/{room}/users"),
    ("/rooms/5f3a/users/ann", "/rooms/{room}/users/{user}"), ("/services/77", "/services/{service}"),
    ("/workers", "/workers"), ("/", "other"), ("/rooms/5f3a/secret", "other"), ("/rooms/a/users/b/c", "other"),
    ("/etc/passwd", "other"), ("/workers/1", "other"),
  ])
  func routeTemplates(path: String, route: String) {
    #expect(NuveHTTPResponder.route(path) == route)
  }
}
