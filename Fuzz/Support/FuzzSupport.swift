// hiodctl fuzzing — what every harness shares: the input as bytes, text or argv, and
// invariant checks that fail loudly enough for libFuzzer to keep the input as a reproducer.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc

/// Stops the run with `message` when an invariant does not hold. The message goes to stderr
/// first, then abort(): libFuzzer reports a deadly signal and writes the input out as
/// `crash-<sha1>`. (Swift's own traps — overflow, index out of range, precondition — end
/// the same way, as SIGILL.)
package func require(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  file: StaticString = #fileID, line: UInt = #line
) {
  guard !condition() else { return }
  var text = Array("FUZZ INVARIANT FAILED at \(file):\(line): \(message())\n".utf8)
  _ = write(2, &text, text.count)
  abort()
}

/// The input as libFuzzer hands it over.
package func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
  guard let data, size > 0 else { return [] }
  return Array(UnsafeBufferPointer(start: data, count: size))
}

/// The input decoded as UTF-8 with invalid sequences replaced: how hiodctl turns the bytes
/// of a sysfs file into text.
package func text(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String {
  String(decoding: bytes(data, size), as: UTF8.self)
}

/// The input as a command line: arguments separated by NUL bytes, as in
/// /proc/PID/cmdline (empty arguments are kept; argv can hold them).
package func arguments(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [String] {
  let input = bytes(data, size)
  guard !input.isEmpty else { return [] }
  return input.split(separator: 0, omittingEmptySubsequences: false).map {
    String(decoding: $0, as: UTF8.self)
  }
}

/// Reads little-endian integers off the front of the input; zero once it runs out, so a
/// harness can take what it needs from any input.
package struct ByteReader {
  package private(set) var remaining: ArraySlice<UInt8>

  package init(_ bytes: [UInt8]) { remaining = bytes[...] }

  package var isEmpty: Bool { remaining.isEmpty }

  package mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
    var value: T = 0
    for index in 0..<MemoryLayout<T>.size {
      guard let byte = remaining.popFirst() else { break }
      value |= T(truncatingIfNeeded: byte) << (8 * index)
    }
    return value
  }
}
