// swift-tools-version: 6.1
// libFuzzer entry points for the media worker's parsers. Built apart from the main package because
// every target here needs `-sanitize=fuzzer`; `scripts/fuzz` builds and runs them.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

func fuzzer(_ name: String) -> Target {
  .executableTarget(
    name: name, dependencies: ["FuzzDriver", .product(name: "MediaWorker", package: "main")], swiftSettings: strict)
}

let package = Package(
  name: "ErizoFuzz",
  dependencies: [.package(name: "main", path: "..")],
  targets: [
    .systemLibrary(name: "CFuzz", path: "Sources/CFuzz"),
    .target(name: "FuzzDriver", dependencies: ["CFuzz"], swiftSettings: strict),
    fuzzer("fuzz-stun"), fuzzer("fuzz-rtp"), fuzzer("fuzz-rtcp"), fuzzer("fuzz-dtls"), fuzzer("fuzz-channel"),
    fuzzer("fuzz-tcp"),
  ]
)
