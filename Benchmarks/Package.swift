// swift-tools-version: 6.1
// Micro-benchmarks (ordo-one/benchmark): time and allocations per operation for the packet path
// (STUN, RTP, RTCP, SRTP, the consumer fan-out) and the signalling path (SDP, Socket.IO, MAuth,
// tokens). A package of its own so the main build stays fast; `scripts/bench` runs it with the
// rest of the benchmark suite, or by hand: `cd Benchmarks && swift package benchmark`.
import PackageDescription

let benchmark = Target.Dependency.product(name: "Benchmark", package: "benchmark")
let plugin = Target.PluginUsage.plugin(name: "BenchmarkPlugin", package: "benchmark")

func erizo(_ product: String) -> Target.Dependency { .product(name: product, package: "erizo") }

let package = Package(
  name: "ErizoBenchmarks",
  platforms: [.macOS(.v15)],
  dependencies: [
    .package(name: "erizo", path: ".."),
    // The Swift-runtime interposer trait needs a package this machine does not mirror; the malloc
    // interposer alone gives the allocation counts.
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: [
    .executableTarget(
      name: "MediaPath",
      dependencies: [benchmark, erizo("MediaWorker"), erizo("ErizoTesting"), erizo("ErizoCore")],
      path: "Benchmarks/MediaPath", swiftSettings: [.swiftLanguageMode(.v6)], plugins: [plugin]),
    .executableTarget(
      name: "Signaling",
      dependencies: [benchmark, erizo("SDP"), erizo("SocketIO"), erizo("Nuve"), erizo("ErizoCore")],
      path: "Benchmarks/Signaling",
      swiftSettings: [.swiftLanguageMode(.v6)], plugins: [plugin]),
  ]
)
