internal import ErizoCore
internal import Foundation

/// `superservice.json` in Nuve's data directory: the superservice id and key the embedded mode
/// generates at first start (Nuve writes it; the controller reads the key to check tokens and, for
/// the demo page, both to call Nuve).
public enum SuperserviceFile {
  public static func path(inDirectory directory: String) -> String { directory + "/superservice.json" }

  /// The saved key and id (nil when absent: checking tokens needs only the key), or nil when the
  /// file is missing, unreadable or has no key.
  public static func read(directory: String) -> (id: String?, key: String)? {
    guard let data = FileManager.default.contents(atPath: path(inDirectory: directory)),
      let saved = try? JSONValue(parsing: data), let key = saved["key"]?.stringValue
    else { return nil }
    return (saved["id"]?.stringValue, key)
  }
}
