import ErizoCore
import Foundation
import MediaWorker

// erizo-worker: spawned by the agent, never by hand. Settings arrive as `--name=value`; the channel
// is fd 3 (parent → worker) and fd 4 (worker → parent), 4-byte little-endian length + JSON. Today it
// serves milestone M0 (worker methods and routers); transports and media come with the worker issue.
let environment = ProcessInfo.processInfo.environment
guard environment["MEDIASOUP_VERSION"] != nil else {
  FileHandle.standardError.write(Data("erizo-worker: MEDIASOUP_VERSION is not set\n".utf8))
  exit(WorkerExitCode.missingVersion.rawValue)
}
let settings: WorkerSettings
do {
  settings = try WorkerSettings(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
  FileHandle.standardError.write(Data("erizo-worker: \(error.message)\n".utf8))
  exit(WorkerExitCode.badSettings.rawValue)
}
signal(SIGPIPE, SIG_IGN)

/// Writes a whole frame to the parent; a broken pipe means the parent is gone.
func send(_ message: ChannelMessage) {
  let frame = message.frame
  var offset = 0
  while offset < frame.count {
    let written = frame[offset...].withUnsafeBytes { write(4, $0.baseAddress, $0.count) }
    if written < 0 {
      if errno == EINTR { continue }
      exit(WorkerExitCode.failure.rawValue)
    }
    offset += written
  }
}

var core = WorkerCore(settings: settings)
var decoder = ChannelFraming.Decoder()
var buffer = [UInt8](repeating: 0, count: 65_536)
send(core.runningNotification)
while true {
  let count = buffer.withUnsafeMutableBytes { read(3, $0.baseAddress, $0.count) }
  if count == 0 { exit(WorkerExitCode.success.rawValue) }  // the parent closed the channel
  if count < 0 {
    if errno == EINTR { continue }
    exit(WorkerExitCode.failure.rawValue)
  }
  buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
  do {
    while let payload = try decoder.next() {
      let message: ChannelMessage
      do {
        message = try ChannelMessage(payload: payload)
      } catch {
        send(.log("Ebad channel message: \(error.message)"))
        continue
      }
      for reply in core.handle(message) { send(reply) }
      if core.closing { exit(WorkerExitCode.success.rawValue) }
    }
  } catch {
    send(.log("Echannel framing error: \(error)"))
    exit(WorkerExitCode.failure.rawValue)
  }
}
