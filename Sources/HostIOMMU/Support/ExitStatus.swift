// hiodctl — the exit statuses scripts depend on (DESIGN.md, "Command-line contract").
// SPDX-License-Identifier: GPL-2.0-or-later

/// How a hiodctl invocation ended. The raw values are part of the contract.
package enum ExitStatus: Int32, Sendable, Comparable {
  /// Success; for `check`, every checked device is compatible.
  case success = 0
  /// A check found an incompatible device.
  case incompatible = 1
  /// Nothing incompatible, but some verdict is undetermined (privileges, busy device).
  case undetermined = 2
  /// Runtime error: a named device was not found, an I/O error, a filter matched nothing.
  case runtimeError = 3
  /// The command line was wrong (`EX_USAGE` from sysexits.h).
  case usage = 64

  package static func < (lhs: ExitStatus, rhs: ExitStatus) -> Bool {
    lhs.rawValue < rhs.rawValue
  }
}
