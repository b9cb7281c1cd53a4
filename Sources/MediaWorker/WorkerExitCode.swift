/// Exit codes of `erizo-worker`, as mediasoup's worker defines them (spec media-worker §1).
public enum WorkerExitCode: Int32, Sendable {
  /// Closed normally (channel EOF, `worker.close`, SIGTERM/SIGINT).
  case success = 0
  /// A fatal error.
  case failure = 40
  /// `MEDIASOUP_VERSION` is missing from the environment.
  case missingVersion = 41
  /// Bad settings on the command line.
  case badSettings = 42
}
