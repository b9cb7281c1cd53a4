import ErizoCore
import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The load tool's signalling, over the controller's HTTP port as any WHIP/WHEP client does it:
/// a token from the demo endpoint (which asks Nuve's REST API like an application server), then
/// `POST /whip` or `POST /whep?peer=` with the offer and `DELETE` of the resource at the end.
struct ControllerHTTP: Sendable {
  let base: URL

  private func send(_ request: URLRequest) async throws -> (Int, Data, HTTPURLResponse) {
    let (data, response) = try await URLSession.shared.data(for: request)
    guard let http = response as? HTTPURLResponse else { throw LoadError("not an HTTP response") }
    return (http.statusCode, data, http)
  }

  /// A single-use token for `room` (made if missing): `(roomID, token)`.
  func token(room: String, name: String) async throws -> (roomID: String, token: String) {
    var request = URLRequest(url: base.appendingPathComponent("demo/token"))
    request.httpMethod = "POST"
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    let body: JSONValue = ["room": .string(room), "name": .string(name)]
    request.httpBody = Data(body.serialized())
    let (status, data, _) = try await send(request)
    let reply = try? JSONValue(parsing: Array(data))
    guard status == 200, let roomID = reply?["roomId"]?.stringValue, let token = reply?["token"]?.stringValue else {
      throw LoadError("POST /demo/token: \(status) \(String(decoding: data, as: UTF8.self))")
    }
    return (roomID, token)
  }

  /// POSTs an offer to `/whip` or `/whep[?peer=]`; returns the answer and the resource's path.
  func exchange(_ path: String, token: String, offer: String) async throws -> (answer: String, location: String) {
    guard let url = URL(string: path, relativeTo: base) else { throw LoadError("bad path \(path)") }
    var request = URLRequest(url: url)
    request.httpMethod = "POST"
    request.setValue("application/sdp", forHTTPHeaderField: "Content-Type")
    request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
    request.httpBody = Data(offer.utf8)
    let (status, data, response) = try await send(request)
    guard status == 201, let location = response.value(forHTTPHeaderField: "Location") else {
      throw LoadError("POST \(path): \(status) \(String(decoding: data, as: UTF8.self))")
    }
    return (String(decoding: data, as: UTF8.self), location)
  }

  func delete(_ location: String) async {
    guard let url = URL(string: location, relativeTo: base) else { return }
    var request = URLRequest(url: url)
    request.httpMethod = "DELETE"
    _ = try? await send(request)
  }

  /// The ids of the room's publishing peers.
  func publishers(roomID: String) async throws -> [String] {
    let (status, data, _) = try await send(
      URLRequest(url: base.appendingPathComponent("demo/rooms/\(roomID)/publishers")))
    guard status == 200, let list = (try? JSONValue(parsing: Array(data)))?["publishers"]?.arrayValue else {
      throw LoadError("GET publishers: \(status)")
    }
    return list.compactMap { $0["id"]?.stringValue }
  }
}
