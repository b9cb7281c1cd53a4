public import ErizoCore

public import struct Foundation.Date

/// A service (an application server's account). `extra` keeps any other posted fields, as the
/// reference stores them.
public struct ServiceRecord: Sendable, Equatable {
  public var id: String
  public var name: String
  public var key: String
  public var extra: [String: JSONValue]
  public var rooms: [RoomRecord]

  public init(id: String, name: String, key: String, extra: [String: JSONValue] = [:], rooms: [RoomRecord] = []) {
    self.id = id
    self.name = name
    self.key = key
    self.extra = extra
    self.rooms = rooms
  }

  /// The document the REST API returns (keys included, as the reference does).
  public var json: JSONValue {
    var object = extra
    object["_id"] = .string(id)
    object["name"] = .string(name)
    object["key"] = .string(key)
    object["rooms"] = .array(rooms.map(\.json))
    return .object(object)
  }
}

/// A room: `{name, p2p?, data?, mediaConfiguration?, eapolicy?, _id}` (spec §1.3, §3).
public struct RoomRecord: Sendable, Equatable {
  public var id: String
  public var name: String
  public var p2p: Bool
  public var data: JSONValue?
  public var mediaConfiguration: String?
  public var eapolicy: String?

  public init(
    id: String, name: String, p2p: Bool = false, data: JSONValue? = nil, mediaConfiguration: String? = nil,
    eapolicy: String? = nil
  ) {
    self.id = id
    self.name = name
    self.p2p = p2p
    self.data = data
    self.mediaConfiguration = mediaConfiguration
    self.eapolicy = eapolicy
  }

  public var json: JSONValue {
    var object: [String: JSONValue] = ["_id": .string(id), "name": .string(name)]
    if p2p { object["p2p"] = true }
    if let data { object["data"] = data }
    if let mediaConfiguration { object["mediaConfiguration"] = .string(mediaConfiguration) }
    if let eapolicy { object["eapolicy"] = .string(eapolicy) }
    return .object(object)
  }
}

/// A stored token (spec §2.1).
public struct TokenRecord: Sendable, Equatable {
  public var id: String
  public var userName: String
  public var role: String
  public var roomID: String
  public var serviceID: String
  public var creationDate: Date
  public var mediaConfiguration: String
  public var secure: Bool
  public var host: String
  public var p2p: Bool
  public var eapolicy: String?

  public init(
    id: String, userName: String, role: String, roomID: String, serviceID: String, creationDate: Date,
    mediaConfiguration: String, secure: Bool, host: String, p2p: Bool, eapolicy: String?
  ) {
    self.id = id
    self.userName = userName
    self.role = role
    self.roomID = roomID
    self.serviceID = serviceID
    self.creationDate = creationDate
    self.mediaConfiguration = mediaConfiguration
    self.secure = secure
    self.host = host
    self.p2p = p2p
    self.eapolicy = eapolicy
  }

  /// The document `deleteToken` returns: ids as hex strings, `creationDate` as ISO 8601 (spec §2.3).
  public var json: JSONValue {
    var object: [String: JSONValue] = [
      "_id": .string(id), "userName": .string(userName), "role": .string(role), "room": .string(roomID),
      "service": .string(serviceID), "creationDate": .string(ISO8601.format(creationDate)),
      "mediaConfiguration": .string(mediaConfiguration), "secure": .bool(secure), "host": .string(host),
    ]
    if p2p { object["p2p"] = true }
    if let eapolicy { object["eapolicy"] = .string(eapolicy) }
    return .object(object)
  }
}

/// A registered ErizoController. `state`: 0 full/draining, 1 warning, 2 available (spec §3, §11).
public struct ControllerRecord: Sendable, Equatable {
  public var id: String
  public var ip: String
  public var hostname: String
  public var port: Int
  public var ssl: Bool
  public var state: Int
  /// When its last keep-alive arrived. A timestamp rather than the reference's per-Nuve counter, so
  /// the expiry does not depend on how many Nuve replicas run.
  public var lastSeen: Date

  public init(id: String, ip: String, hostname: String, port: Int, ssl: Bool, state: Int, lastSeen: Date) {
    self.id = id
    self.ip = ip
    self.hostname = hostname
    self.port = port
    self.ssl = ssl
    self.state = state
    self.lastSeen = lastSeen
  }

  /// `hostname || ip` plus `:port`, as put in tokens (spec §2.1).
  public var host: String { "\(hostname.isEmpty ? ip : hostname):\(port)" }

  public var json: JSONValue {
    [
      "_id": .string(id), "ip": .string(ip), "hostname": .string(hostname), "port": .int(port), "ssl": .bool(ssl),
      "state": .int(state),
    ]
  }
}

extension Array where Element == ControllerRecord {
  /// State 2, then 1, then 0, keeping registration order within a state (spec §2.1).
  var orderedByState: [ControllerRecord] {
    enumerated().sorted { ($0.element.state, -$0.offset) > ($1.element.state, -$1.offset) }.map(\.element)
  }
}

/// The reference's 24-hex ObjectId form, drawn from the CSPRNG.
public enum ObjectID {
  public static func make() -> String { Crypto.lowercaseHex(Crypto.randomBytes(12)) }

  public static func isValid(_ text: String) -> Bool {
    text.utf8.count == 24
      && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) }
  }
}

enum ISO8601 {
  static func format(_ date: Date) -> String {
    date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
  }
}
