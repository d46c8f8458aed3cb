// hiodctl — writing to stdout and stderr.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials
import Glibc
import HostIOMMU

enum Output {
  /// The first error writing standard output (errno), or nil. A script reading the
  /// answer from a full disk or a closed pipe must not be told "success": `main` turns
  /// it into exit status 3.
  nonisolated(unsafe) static var standardOutputError: Int32?

  /// Whether something was written to standard output (a JSON error document is only
  /// printed when stdout is still empty).
  nonisolated(unsafe) static var wroteStandardOutput = false

  /// Prepares the process for writing: a file-size limit (`ulimit -f`) must surface as
  /// EFBIG from write(2), reported, rather than SIGXFSZ killing the process after part
  /// of the answer is written.
  static func prepare() {
    signal(SIGXFSZ, SIG_IGN)
  }

  /// Writes `text` and a newline to stdout.
  static func line(_ text: String) {
    standardOutput(text + "\n")
  }

  /// Writes `text` to stdout as it is. Arguments that were not UTF-8 are written back as
  /// the bytes they were (Support/PathBytes.swift).
  static func standardOutput(_ text: String) {
    standardOutput(bytes: PathBytes.bytes(text))
  }

  static func standardOutput(bytes: [UInt8]) {
    bytes.withUnsafeBytes(standardOutput(raw:))
  }

  static func standardOutput(raw bytes: UnsafeRawBufferPointer) {
    wroteStandardOutput = true
    guard standardOutputError == nil else { return }
    if let failure = writeAll(bytes, to: STDOUT_FILENO) { standardOutputError = failure }
  }

  /// Writes `text` and a newline to stderr (errors, warnings, hints). Errors writing
  /// stderr are ignored: there is nowhere left to complain.
  static func error(_ text: String) {
    _ = writeAll(PathBytes.bytes(text + "\n"), to: STDERR_FILENO)
  }

  /// Writes all of `bytes` to `descriptor`; the errno of the first failure, or nil.
  private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
    bytes.withUnsafeBytes { writeAll($0, to: descriptor) }
  }

  private static func writeAll(_ all: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
    var rest = all
    while !rest.isEmpty {
      let written = write(descriptor, rest.baseAddress, rest.count)
      if written < 0 {
        if errno == EINTR { continue }
        return errno
      }
      if written == 0 { return EIO }
      rest = UnsafeRawBufferPointer(rebasing: rest[written...])
    }
    return nil
  }

  /// `strerror` for an errno, as the rest of hiodctl words them.
  static func describe(errno number: Int32) -> String {
    String(cString: strerror(number))
  }

  /// At most this many warnings go to stderr; a broken tree can produce thousands
  /// (one per group), which would bury the answer. The JSON lists them all.
  static let warningLimit = 20

  /// Prints `notice` to stderr as `hiodctl: notice: …`: something the user should know
  /// is about to happen (a device reset), not a problem.
  static func notice(_ notice: String) {
    error("hiodctl: notice: \(notice)")
  }

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

  /// Writes a contract document (list) with the streaming writer: the same bytes as
  /// `json(_:)`, without building the document in memory first.
  static func json(contract document: some ContractObject) {
    ContractJSONWriter.stream(document, to: standardOutput(raw:))
  }

  /// Writes a contract document to `path` atomically (-o), or to stdout, as it is made.
  static func document(contract document: some ContractObject, to path: String?) throws {
    if let path, path != "-" {
      try OutputFile.replace(path) { emit in ContractJSONWriter.stream(document, to: emit) }
    } else {
      json(contract: document)
    }
  }

  /// Encodes `value` as the one JSON document of this invocation, on stdout.
  static func json(_ value: some Encodable) throws {
    standardOutput(bytes: try jsonBytes(value))
    standardOutput(bytes: [0x0A])
  }

  /// `value` as pretty JSON with sorted keys (`ContractJSONWriter.encoderBytes`).
  static func jsonBytes(_ value: some Encodable) throws -> [UInt8] {
    try ContractJSONWriter.encoderBytes(value)
  }

  /// Writes a document to `path` atomically (-o), or to stdout (no -o, or `-o -`).
  static func document(_ text: String, to path: String?) throws {
    try document(bytes: PathBytes.bytes(text), to: path)
  }

  static func document(bytes: [UInt8], to path: String?) throws {
    if let path, path != "-" {
      try OutputFile.replace(path, with: bytes)
    } else {
      standardOutput(bytes: bytes)
    }
  }
}
