internal import CMongoC
internal import Dispatch
internal import ErizoCore
internal import Foundation

/// One libmongoc client, used only from its own serial queue (libmongoc calls block). Documents
/// cross the boundary as JSON text in relaxed extended JSON, converted by libbson.
final class MongoConnection: @unchecked Sendable {
  // @unchecked: `client` and the collections are touched only on `queue`.
  private let client: OpaquePointer
  private let database: String
  private let queue = DispatchQueue(label: "erizo.nuve.mongo")
  private var collections: [String: OpaquePointer] = [:]

  private static let initialise: Void = { mongoc_init() }()

  /// `url` is the reference's `host[:port]/db` or a `mongodb://` URI; the database defaults to `nuvedb`.
  init(url: String) throws(ErizoError) {
    _ = Self.initialise
    var text = url
    var database = "nuvedb"
    if !text.hasPrefix("mongodb://"), !text.hasPrefix("mongodb+srv://") {
      if let slash = text.firstIndex(of: "/") {
        let name = String(text[text.index(after: slash)...])
        if !name.isEmpty { database = name }
        text = String(text[..<slash])
      }
      text = "mongodb://\(text)/\(database)"
    }
    var error = bson_error_t()
    guard let uri = mongoc_uri_new_with_error(text, &error) else {
      throw ErizoError(.invalidConfigValue, "MONGO_URL '\(url)' is not valid: \(Self.message(error))")
    }
    defer { mongoc_uri_destroy(uri) }
    if let name = mongoc_uri_get_database(uri) { database = String(cString: name) }
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000)
    guard let client = mongoc_client_new_from_uri(uri) else {
      throw ErizoError(.invalidConfigValue, "MONGO_URL '\(url)' is not usable")
    }
    mongoc_client_set_error_api(client, 2)
    self.client = client
    self.database = database
  }

  deinit {
    for collection in collections.values { mongoc_collection_destroy(collection) }
    mongoc_client_destroy(client)
  }

  @discardableResult
  func run<T: Sendable>(_ body: @escaping @Sendable (MongoConnection) throws(ErizoError) -> T) async throws(ErizoError)
    -> T
  {
    let result: Result<T, ErizoError> = await withCheckedContinuation { continuation in
      queue.async { continuation.resume(returning: Result { () throws(ErizoError) -> T in try body(self) }) }
    }
    return try result.get()
  }

  private func collection(_ name: String) -> OpaquePointer {
    if let existing = collections[name] { return existing }
    let collection = mongoc_client_get_collection(client, database, name)!
    collections[name] = collection
    return collection
  }

  // MARK: Operations (call inside `run`)

  func insert(_ name: String, _ document: JSONValue) throws(ErizoError) {
    let bson = try Self.bson(document)
    defer { bson_destroy(bson) }
    var error = bson_error_t()
    guard mongoc_collection_insert_one(collection(name), bson, nil, nil, &error) else {
      throw Self.failure("insert into \(name)", error)
    }
  }

  /// Inserts and reports false (instead of throwing) when a unique index rejects the document.
  func insertUnlessDuplicate(_ name: String, _ document: JSONValue) throws(ErizoError) -> Bool {
    let bson = try Self.bson(document)
    defer { bson_destroy(bson) }
    var error = bson_error_t()
    if mongoc_collection_insert_one(collection(name), bson, nil, nil, &error) { return true }
    if error.code == 11000 { return false }
    throw Self.failure("insert into \(name)", error)
  }

  func find(_ name: String, _ filter: JSONValue, sort: JSONValue? = nil) throws(ErizoError) -> [JSONValue] {
    let filterBSON = try Self.bson(filter)
    defer { bson_destroy(filterBSON) }
    let options = try sort.map { sort throws(ErizoError) in try Self.bson(["sort": sort]) }
    defer { if let options { bson_destroy(options) } }
    guard let cursor = mongoc_collection_find_with_opts(collection(name), filterBSON, options, nil) else {
      throw ErizoError(.storeUnavailable, "find in \(name) failed")
    }
    defer { mongoc_cursor_destroy(cursor) }
    var documents: [JSONValue] = []
    var current: OpaquePointer?
    while mongoc_cursor_next(cursor, &current) {
      if let current { documents.append(try Self.json(current)) }
    }
    var error = bson_error_t()
    if mongoc_cursor_error(cursor, &error) { throw Self.failure("find in \(name)", error) }
    return documents
  }

  /// Runs one libmongoc write that takes a filter and fills a reply; returns the reply as JSON.
  private func write(
    _ what: String, filter: JSONValue,
    _ call: (_ filter: OpaquePointer, _ reply: OpaquePointer, _ error: inout bson_error_t) -> Bool
  ) throws(ErizoError) -> JSONValue {
    let filterBSON = try Self.bson(filter)
    let reply = bson_new()!
    defer {
      bson_destroy(filterBSON)
      bson_destroy(reply)
    }
    var error = bson_error_t()
    guard call(filterBSON, reply, &error) else { throw Self.failure(what, error) }
    return try Self.json(reply)
  }

  /// Returns the number of matched documents.
  @discardableResult
  func update(_ name: String, _ filter: JSONValue, _ update: JSONValue, many: Bool = false) throws(ErizoError) -> Int {
    let updateBSON = try Self.bson(update)
    defer { bson_destroy(updateBSON) }
    let collection = collection(name)
    let reply = try write("update in \(name)", filter: filter) { filter, reply, error in
      many
        ? mongoc_collection_update_many(collection, filter, updateBSON, nil, reply, &error)
        : mongoc_collection_update_one(collection, filter, updateBSON, nil, reply, &error)
    }
    return reply["matchedCount"]?.intValue ?? 0
  }

  /// Returns the number of deleted documents.
  @discardableResult
  func delete(_ name: String, _ filter: JSONValue, many: Bool = false) throws(ErizoError) -> Int {
    let collection = collection(name)
    let reply = try write("delete in \(name)", filter: filter) { filter, reply, error in
      many
        ? mongoc_collection_delete_many(collection, filter, nil, reply, &error)
        : mongoc_collection_delete_one(collection, filter, nil, reply, &error)
    }
    return reply["deletedCount"]?.intValue ?? 0
  }

  /// findAndModify with `remove: true`: deletes one document atomically and returns it.
  func findAndRemove(_ name: String, _ filter: JSONValue) throws(ErizoError) -> JSONValue? {
    let collection = collection(name)
    let reply = try write("findAndModify in \(name)", filter: filter) { filter, reply, error in
      mongoc_collection_find_and_modify(collection, filter, nil, nil, nil, true, false, false, reply, &error)
    }
    let value = reply["value"]
    return value == nil || value == .null ? nil : value
  }

  func createIndex(_ name: String, keys: JSONValue, indexName: String, unique: Bool) throws(ErizoError) {
    let command = try Self.bson([
      "createIndexes": .string(name), "indexes": [["key": keys, "name": .string(indexName), "unique": .bool(unique)]],
    ])
    defer { bson_destroy(command) }
    var error = bson_error_t()
    guard mongoc_client_command_simple(client, database, command, nil, nil, &error) else {
      throw Self.failure("createIndexes on \(name)", error)
    }
  }

  // MARK: Conversion

  static func bson(_ document: JSONValue) throws(ErizoError) -> OpaquePointer {
    let text = document.serialized()
    var error = bson_error_t()
    let bson = text.withUnsafeBufferPointer { buffer in bson_new_from_json(buffer.baseAddress, buffer.count, &error) }
    guard let bson else { throw ErizoError(.storeUnavailable, "cannot encode BSON: \(message(error))") }
    return bson
  }

  static func json(_ bson: OpaquePointer) throws(ErizoError) -> JSONValue {
    var length = 0
    guard let text = bson_as_relaxed_extended_json(bson, &length) else {
      throw ErizoError(.storeUnavailable, "cannot decode BSON")
    }
    defer { bson_free(text) }
    return try JSONValue(parsing: Array(UnsafeRawBufferPointer(start: text, count: length)))
  }

  static func message(_ error: bson_error_t) -> String {
    withUnsafeBytes(of: error.message) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  static func failure(_ what: String, _ error: bson_error_t) -> ErizoError {
    ErizoError(.storeUnavailable, "MongoDB \(what): \(message(error))")
  }
}
