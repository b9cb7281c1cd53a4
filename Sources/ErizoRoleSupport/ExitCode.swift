/// The exit codes of `erizo` (documented in README and `docs/lifecycle.md`).
public enum ErizoExitCode: Int32, Sendable {
  /// Clean shutdown after SIGTERM/SIGINT or when every service finished.
  case success = 0
  /// A service failed at run time.
  case failure = 1
  /// Bad command line (swift-argument-parser's usage error).
  case usage = 64
  /// The configuration is invalid: unknown key, bad value, unreadable file.
  case configuration = 78
}
