import ErizoCore
import Foundation
import MediaWorker

// erizo-worker: spawned by the agent, never by hand. Settings arrive as `--name=value`; the channel
// is fd 3 (parent → worker) and fd 4 (worker → parent). The media plane arrives with the worker
// issue; until then the process validates its settings and lives until its channel closes.
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
var buffer = [UInt8](repeating: 0, count: 65_536)
while true {
  let count = read(3, &buffer, buffer.count)
  if count == 0 { exit(WorkerExitCode.success.rawValue) }
  if count < 0, errno != EINTR { exit(WorkerExitCode.failure.rawValue) }
}
