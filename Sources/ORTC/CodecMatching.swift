internal import ErizoCore

extension RouterCapabilities {
  /// mediasoup's strict `matchCodecs`: besides MIME type, clock rate and channels, H264 needs the same
  /// packetization mode and profile (and an answerable profile-level-id), VP9 the same profile-id.
  /// Returns the answer's profile-level-id change for H264 (`modify`), or nil when they do not match.
  static func strictMatch(_ lhs: RtpCodecCapability, _ rhs: RtpCodecCapability) -> StrictMatch? {
    guard matches(lhs, rhs, strict: false) else { return nil }
    switch lhs.mimeType.lowercased() {
    case "video/h264", "video/h264-svc":
      let modeL = lhs.parameters["packetization-mode"]?.intValue ?? 0
      let modeR = rhs.parameters["packetization-mode"]?.intValue ?? 0
      guard modeL == modeR else { return nil }
      guard let profileL = H264ProfileLevelID(parameters: lhs.parameters),
        let profileR = H264ProfileLevelID(parameters: rhs.parameters), profileL.profile == profileR.profile
      else { return nil }
      guard let answer = try? H264ProfileLevelID.answer(local: lhs.parameters, remote: rhs.parameters) else {
        return nil
      }
      return StrictMatch(profileLevelID: answer)
    case "video/vp9":
      let profileL = lhs.parameters["profile-id"]?.intValue ?? 0
      let profileR = rhs.parameters["profile-id"]?.intValue ?? 0
      return profileL == profileR ? StrictMatch(profileLevelID: nil) : nil
    default:
      return StrictMatch(profileLevelID: nil)
    }
  }

  struct StrictMatch {
    /// For H264, the answer's profile-level-id (nil: remove the parameter).
    let profileLevelID: String?
  }
}
