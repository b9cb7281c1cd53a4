public import ErizoCore

public import struct Foundation.Date

/// Everything Nuve keeps, behind one protocol: SQLite for the embedded default, MongoDB in
/// production. Every method is atomic on its own; none needs a transaction across calls.
public protocol NuveStore: Sendable {
  func createService(_ service: ServiceRecord) async throws(ErizoError)
  func services() async throws(ErizoError) -> [ServiceRecord]
  func service(id: String) async throws(ErizoError) -> ServiceRecord?
  /// Returns false when there was no such service. Its rooms are kept, as in the reference.
  func deleteService(id: String) async throws(ErizoError) -> Bool

  func createRoom(_ room: RoomRecord, serviceID: String) async throws(ErizoError)
  /// Replaces the room's fields, keeping its controller binding (the reference drops it: a bug).
  func updateRoom(_ room: RoomRecord, serviceID: String) async throws(ErizoError) -> Bool
  func deleteRoom(id: String, serviceID: String) async throws(ErizoError) -> Bool

  /// The controller a room is bound to, if any.
  func roomController(roomID: String) async throws(ErizoError) -> String?
  /// Binds the room to `controllerID` unless it is already bound to another controller that is in
  /// `alive`; returns the controller the room ends up bound to. Atomic.
  func bindRoom(roomID: String, controllerID: String, alive: Set<String>) async throws(ErizoError) -> String
  func unbindRooms(controllerID: String) async throws(ErizoError)

  func createToken(_ token: TokenRecord) async throws(ErizoError)
  /// Deletes and returns the token (single use); nil when there is none.
  func takeToken(id: String) async throws(ErizoError) -> TokenRecord?
  func deleteTokens(olderThan date: Date) async throws(ErizoError)

  func addController(_ controller: ControllerRecord) async throws(ErizoError)
  func controllers() async throws(ErizoError) -> [ControllerRecord]
  /// Records a keep-alive; false when the controller is unknown.
  func touchController(id: String, at date: Date) async throws(ErizoError) -> Bool
  func setControllerState(id: String, state: Int) async throws(ErizoError) -> Bool
  func deleteController(id: String) async throws(ErizoError) -> Bool

  /// Records `(timestamp, cnonce)` for a service; false when that pair was already used (replay).
  func recordNonce(serviceID: String, timestamp: Int, cnonce: Int) async throws(ErizoError) -> Bool
  /// Forgets nonces with timestamps (milliseconds) before `timestamp`; the MAuth window already
  /// rejects those, so they can never match again.
  func deleteNonces(before timestamp: Int) async throws(ErizoError)
}
