internal import ErizoCore
internal import Foundation
internal import Glibc
internal import MediaWorker
internal import Synchronization

/// One running `erizo-worker` and the framed JSON channel to it (fd 3 parent → worker, fd 4 worker →
/// parent; media-worker spec §1). Requests wait for their response with a deadline; notifications
/// and logs go to `onMessage`; `onExit` runs once, with the wait status, after the worker is gone.
final class WorkerChannel: Sendable {
  let pid: pid_t
  private let toWorker: Int32
  private let fromWorker: Int32
  private let state = Mutex(State())

  private struct State {
    var nextID = 1
    var pending: [Int: CheckedContinuation<JSONValue, any Error>] = [:]
    var closed = false
  }

  /// Why a request failed: the worker's own rejection, or the channel.
  enum Failure: Error, Equatable {
    case rejected(ChannelMessage.ErrorKind, String)
    case timeout(String)
    case closed

    var reason: String {
      switch self {
      case .rejected(_, let reason): reason
      case .timeout(let method): "the media worker did not answer \(method)"
      case .closed: "the media worker is gone"
      }
    }
  }

  /// Starts the worker. The pipes are close-on-exec in this process, so no other worker inherits them.
  static func spawn(
    executable: String, arguments: [String], onMessage: @escaping @Sendable (ChannelMessage) -> Void,
    onExit: @escaping @Sendable (Int32) -> Void
  ) throws(ErizoError) -> WorkerChannel {
    var parentToChild: [Int32] = [0, 0]
    var childToParent: [Int32] = [0, 0]
    guard pipe(&parentToChild) == 0 else { throw ErizoError(.workerUnavailable, "pipe: \(errno)") }
    guard pipe(&childToParent) == 0 else {
      Glibc.close(parentToChild[0])
      Glibc.close(parentToChild[1])
      throw ErizoError(.workerUnavailable, "pipe: \(errno)")
    }
    for fd in parentToChild + childToParent { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // dup2 clears close-on-exec on the target descriptors, so the worker keeps exactly fds 3 and 4.
    posix_spawn_file_actions_adddup2(&actions, parentToChild[0], 3)
    posix_spawn_file_actions_adddup2(&actions, childToParent[1], 4)
    var environment = ProcessInfo.processInfo.environment
    environment["MEDIASOUP_VERSION"] = "3.14.16"
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv { free(pointer) }
      for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    Glibc.close(parentToChild[0])
    Glibc.close(childToParent[1])
    guard status == 0 else {
      Glibc.close(parentToChild[1])
      Glibc.close(childToParent[0])
      throw ErizoError(.workerUnavailable, "cannot start \(executable): \(String(cString: strerror(status)))")
    }
    // A worker that stops reading must not block the agent: writes fail instead of waiting.
    _ = fcntl(parentToChild[1], F_SETFL, fcntl(parentToChild[1], F_GETFL) | O_NONBLOCK)
    let channel = WorkerChannel(pid: pid, toWorker: parentToChild[1], fromWorker: childToParent[0])
    let reader = Thread { channel.readLoop(onMessage: onMessage, onExit: onExit) }
    reader.name = "erizo-worker-\(pid)"
    reader.start()
    return channel
  }

  private init(pid: pid_t, toWorker: Int32, fromWorker: Int32) {
    self.pid = pid
    self.toWorker = toWorker
    self.fromWorker = fromWorker
  }

  /// Sends a request and waits for its response, at most `timeout`.
  func request(_ method: String, handlerID: String = "", data: JSONValue = .object([:]), timeout: Duration)
    async throws(Failure) -> JSONValue
  {
    do {
      return try await withCheckedThrowingContinuation { continuation in
        let id = state.withLock { state -> Int? in
          guard !state.closed else { return nil }
          let id = state.nextID
          state.nextID += 1
          state.pending[id] = continuation
          return id
        }
        guard let id else { return continuation.resume(throwing: Failure.closed) }
        let frame = ChannelMessage.request(id: id, method: method, handlerID: handlerID, data: data).frame
        guard writeAll(frame) else {
          finish(id, with: .failure(Failure.timeout(method)))
          return
        }
        Task {
          try? await Task.sleep(for: timeout)
          self.finish(id, with: .failure(Failure.timeout(method)))
        }
      }
    } catch let failure as Failure {
      throw failure
    } catch {
      throw .closed
    }
  }

  /// Closes the channel; the worker exits on EOF (exit code 0).
  func close() {
    let wasOpen = state.withLock { state -> Bool in
      defer { state.closed = true }
      return !state.closed
    }
    if wasOpen { Glibc.close(toWorker) }
  }

  /// Sends SIGKILL, for a worker that does not leave on its own.
  func kill() { _ = Glibc.kill(pid, SIGKILL) }

  private func finish(_ id: Int, with result: Result<JSONValue, any Error>) {
    let continuation = state.withLock { $0.pending.removeValue(forKey: id) }
    continuation?.resume(with: result)
  }

  private func writeAll(_ bytes: [UInt8]) -> Bool {
    var offset = 0
    var stalls = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(toWorker, $0.baseAddress, $0.count) }
      if written >= 0 {
        offset += written
        continue
      }
      switch errno {
      case EINTR: continue
      case EAGAIN where stalls < 100:
        // A full pipe: give the worker up to a second to read before calling it stuck.
        stalls += 1
        usleep(10_000)
      default: return false
      }
    }
    return true
  }

  private func readLoop(onMessage: @Sendable (ChannelMessage) -> Void, onExit: @Sendable (Int32) -> Void) {
    var decoder = ChannelFraming.Decoder()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    reading: while true {
      let count = buffer.withUnsafeMutableBytes { read(fromWorker, $0.baseAddress, $0.count) }
      if count < 0, errno == EINTR { continue }
      if count <= 0 { break }
      buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
      do {
        while let payload = try decoder.next() {
          guard let message = try? ChannelMessage(payload: payload) else {
            onMessage(.log("Ean unreadable channel message from the worker"))
            continue
          }
          switch message {
          case .accepted(let id, let data): finish(id, with: .success(data))
          case .rejected(let id, let kind, let reason): finish(id, with: .failure(Failure.rejected(kind, reason)))
          default: onMessage(message)
          }
        }
      } catch {
        onMessage(.log("Ethe worker broke the channel framing: \(error)"))
        _ = Glibc.kill(pid, SIGKILL)
        break reading
      }
    }
    Glibc.close(fromWorker)
    let waiting = state.withLock { state -> [CheckedContinuation<JSONValue, any Error>] in
      if !state.closed {
        state.closed = true
        Glibc.close(toWorker)
      }
      defer { state.pending.removeAll() }
      return Array(state.pending.values)
    }
    for continuation in waiting { continuation.resume(throwing: Failure.closed) }
    // The worker closed its end (it exited or is exiting): collect it so it does not linger.
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    onExit(status)
  }
}
