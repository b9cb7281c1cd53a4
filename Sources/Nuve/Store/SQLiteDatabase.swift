internal import CSQLite
internal import Dispatch
internal import ErizoCore

/// A value bound to or read from SQLite.
enum SQLValue: Sendable, Equatable {
  case null
  case integer(Int)
  case text(String)

  var int: Int? { if case .integer(let value) = self { value } else { nil } }
  var text: String? { if case .text(let value) = self { value } else { nil } }
}

/// One SQLite connection, used only from its own serial queue (SQLite calls block).
final class SQLiteDatabase: @unchecked Sendable {
  // @unchecked: `handle` is touched only on `queue`.
  private let handle: OpaquePointer
  private let queue = DispatchQueue(label: "erizo.nuve.sqlite")

  init(path: String) throws(ErizoError) {
    var handle: OpaquePointer?
    let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX
    guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK, let handle else {
      let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      if let handle { sqlite3_close(handle) }
      throw ErizoError(.storeUnavailable, "cannot open SQLite database \(path): \(message)")
    }
    self.handle = handle
    sqlite3_busy_timeout(handle, 5000)
  }

  deinit { sqlite3_close(handle) }

  /// Runs `body` on the database's queue and returns its result.
  @discardableResult
  func run<T: Sendable>(_ body: @escaping @Sendable (SQLiteDatabase) throws(ErizoError) -> T) async throws(ErizoError)
    -> T
  {
    let result: Result<T, ErizoError> = await withCheckedContinuation { continuation in
      queue.async {
        continuation.resume(returning: Result { () throws(ErizoError) -> T in try body(self) })
      }
    }
    return try result.get()
  }

  /// Executes one statement and returns its rows.
  @discardableResult
  func query(_ sql: String, _ parameters: [SQLValue] = []) throws(ErizoError) -> [[SQLValue]] {
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
      throw error("prepare")
    }
    defer { sqlite3_finalize(statement) }
    for (index, parameter) in parameters.enumerated() {
      let position = Int32(index + 1)
      switch parameter {
      case .null: sqlite3_bind_null(statement, position)
      case .integer(let value): sqlite3_bind_int64(statement, position, Int64(value))
      case .text(let value): sqlite3_bind_text(statement, position, value, -1, erizo_sqlite_transient())
      }
    }
    var rows: [[SQLValue]] = []
    while true {
      let step = sqlite3_step(statement)
      if step == SQLITE_DONE { break }
      guard step == SQLITE_ROW else { throw error("step") }
      var row: [SQLValue] = []
      for column in 0..<sqlite3_column_count(statement) {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_NULL: row.append(.null)
        case SQLITE_INTEGER: row.append(.integer(Int(sqlite3_column_int64(statement, column))))
        default: row.append(.text(String(cString: sqlite3_column_text(statement, column))))
        }
      }
      rows.append(row)
    }
    return rows
  }

  /// Rows changed by the last statement.
  var changes: Int { Int(sqlite3_changes(handle)) }

  private func error(_ what: String) -> ErizoError {
    ErizoError(.storeUnavailable, "SQLite \(what): \(String(cString: sqlite3_errmsg(handle)))")
  }
}
