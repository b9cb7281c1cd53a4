internal import CFuzz

/// Hands control to libFuzzer with `callback` as the target: call it from the executable's
/// `<name>_main` (SwiftPM links `main` to that symbol).
public func runFuzzer(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
  var count = argc
  var arguments = argv
  return LLVMFuzzerRunDriver(&count, &arguments, callback)
}
