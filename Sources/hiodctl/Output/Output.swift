// hiodctl — writing to stdout and stderr.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials
import Glibc
import HostIOMMU

enum Output {
  /// Writes `text` and a newline to stdout.
  static func line(_ text: String) {
    print(text)
  }

  /// Writes `text` and a newline to stderr (errors, warnings, hints).
  static func error(_ text: String) {
    var message = text + "\n"
    message.withUTF8 { bytes in
      var rest = UnsafeRawBufferPointer(bytes)
      while !rest.isEmpty {
        let written = write(STDERR_FILENO, rest.baseAddress, rest.count)
        if written < 0 && errno == EINTR { continue }
        if written <= 0 { return }  // stderr closed: nowhere left to complain
        rest = UnsafeRawBufferPointer(rebasing: rest[written...])
      }
    }
  }

  /// At most this many warnings go to stderr; a broken tree can produce thousands
  /// (one per group), which would bury the answer. The JSON lists them all.
  static let warningLimit = 20

  /// Prints `warnings` to stderr as `hiodctl: warning: …`, the first `warningLimit`
  /// of them and then how many more there are.
  static func warnings(_ warnings: [String], prefix: String = "") {
    for warning in warnings.prefix(warningLimit) {
      error("hiodctl: warning: \(prefix)\(warning)")
    }
    if warnings.count > warningLimit {
      error(
        "hiodctl: warning: \(prefix)\(warnings.count - warningLimit) more warnings not shown; "
          + "the JSON output lists them all")
    }
  }

  /// Encodes `value` as the one JSON document of this invocation, on stdout.
  static func json(_ value: some Encodable) throws {
    print(String(decoding: try jsonBytes(value), as: UTF8.self))
  }

  /// `value` as pretty JSON with sorted keys: Foundation does not keep insertion order,
  /// and the output must be byte-for-byte stable across runs for scripts and goldens.
  static func jsonBytes(_ value: some Encodable) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(value))
  }

  /// Writes a document to `path` atomically (-o), or to stdout.
  static func document(_ text: String, to path: String?) throws {
    if let path {
      try AtomicFile.write(Array(text.utf8), to: path)
    } else {
      print(text, terminator: "")
    }
  }
}
