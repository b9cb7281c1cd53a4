import ErizoCore
import Foundation
import MediaWorker

// erizo-worker: spawned by the agent, never by hand. Settings arrive as `--name=value`; the channel
// is fd 3 (parent → worker) and fd 4 (worker → parent), 4-byte little-endian length + JSON. One
// thread runs everything: the channel, the media sockets and the timers (WorkerLoop).
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
exit(WorkerLoop.run(settings: settings))
