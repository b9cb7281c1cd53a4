internal import ErizoCore

/// H.264 `profile-level-id` (RFC 6184 §8.1) as the strict codec match and the SDP answer need it.
struct H264ProfileLevelID: Equatable {
  enum Profile: Equatable {
    case constrainedBaseline, baseline, main, constrainedHigh, high, predictiveHigh444
  }

  /// `level_idc`, with level 1b kept apart (it sorts between 1 and 1.1).
  enum Level: Equatable, Comparable {
    case level1b
    case idc(Int)

    /// 1b is 1 < 1b < 1.1 in capability order.
    var rank: Double {
      switch self {
      case .level1b: 10.5
      case .idc(let value): Double(value)
      }
    }

    static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
  }

  let profile: Profile
  let level: Level

  /// The default when the parameter is absent: Constrained Baseline level 3.1.
  static let defaultText = "42e01f"

  /// `(profile_idc, profile_iop mask, profile_iop value)` patterns of the table in RFC 6184 /
  /// libwebrtc's `h264_profile_level_id`.
  private static let patterns: [(idc: UInt8, mask: UInt8, value: UInt8, profile: Profile)] = [
    (0x42, 0b0100_1111, 0b0100_0000, .constrainedBaseline),
    (0x4D, 0b1000_1111, 0b1000_0000, .constrainedBaseline),
    (0x58, 0b1100_1111, 0b1100_0000, .constrainedBaseline),
    (0x42, 0b0100_1111, 0b0000_0000, .baseline),
    (0x58, 0b1100_1111, 0b1000_0000, .baseline),
    (0x4D, 0b1010_1111, 0b0000_0000, .main),
    (0x64, 0b1111_1111, 0b0000_0000, .high),
    (0x64, 0b1111_1111, 0b0000_1100, .constrainedHigh),
    (0xF4, 0b1111_1111, 0b0000_0000, .predictiveHigh444),
  ]

  init?(_ text: String) {
    guard text.utf8.count == 6, let number = UInt32(text, radix: 16) else { return nil }
    let idc = UInt8(number >> 16)
    let iop = UInt8((number >> 8) & 0xFF)
    let levelIDC = Int(number & 0xFF)
    guard let profile = Self.patterns.first(where: { $0.idc == idc && iop & $0.mask == $0.value })?.profile else {
      return nil
    }
    let known = [10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51, 52]
    guard known.contains(levelIDC) else { return nil }
    // Level 1b: level_idc 11 with constraint_set3 in the Baseline and Main profiles.
    if levelIDC == 11, iop & 0x10 != 0, [.constrainedBaseline, .baseline, .main].contains(profile) {
      self.init(profile: profile, level: .level1b)
    } else {
      self.init(profile: profile, level: .idc(levelIDC))
    }
  }

  init(profile: Profile, level: Level) {
    self.profile = profile
    self.level = level
  }

  /// From codec parameters; the default when absent, nil when present but invalid.
  init?(parameters: [String: JSONValue]) {
    switch parameters["profile-level-id"] {
    case nil: self.init(Self.defaultText)
    case .string(let text)?: self.init(text)
    case .int(let number)?: self.init(String(number))
    default: return nil
    }
  }

  var text: String? {
    if level == .level1b {
      switch profile {
      case .constrainedBaseline: return "42f00b"
      case .baseline: return "42100b"
      case .main: return "4d100b"
      default: return nil
      }
    }
    guard case .idc(let idc) = level else { return nil }
    let prefix: String
    switch profile {
    case .constrainedBaseline: prefix = "42e0"
    case .baseline: prefix = "4200"
    case .main: prefix = "4d00"
    case .constrainedHigh: prefix = "640c"
    case .high: prefix = "6400"
    case .predictiveHigh444: prefix = "f400"
    }
    let hex = String(idc, radix: 16)
    return prefix + (hex.count == 1 ? "0" + hex : hex)
  }

  static func isLevelAsymmetryAllowed(_ parameters: [String: JSONValue]) -> Bool {
    switch parameters["level-asymmetry-allowed"] {
    case .int(1)?, .string("1")?: true
    default: false
    }
  }

  /// The `profile-level-id` of an answer to `remote` from `local` (libwebrtc's
  /// `GenerateProfileLevelIdForAnswer`): nil when neither side gives one; throws when the profiles
  /// differ or a value is invalid.
  static func answer(local: [String: JSONValue], remote: [String: JSONValue]) throws(ORTCError) -> String? {
    if local["profile-level-id"] == nil, remote["profile-level-id"] == nil { return nil }
    guard let localID = H264ProfileLevelID(parameters: local), let remoteID = H264ProfileLevelID(parameters: remote)
    else { throw .typeError("invalid profile-level-id") }
    guard localID.profile == remoteID.profile else { throw .typeError("H264 profile mismatch") }
    let asymmetry = isLevelAsymmetryAllowed(local) && isLevelAsymmetryAllowed(remote)
    let level = asymmetry ? localID.level : min(localID.level, remoteID.level)
    return H264ProfileLevelID(profile: localID.profile, level: level).text
  }
}
