// hiodctl — a Linux release number, for the few answers that depend on the kernel.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The major and minor number of a Linux release string (`6.12.117`, `6.1.0-28-amd64`).
package struct KernelRelease: Hashable, Sendable, Comparable, CustomStringConvertible {
  package var major: Int
  package var minor: Int

  package init(major: Int, minor: Int) {
    self.major = major
    self.minor = minor
  }

  /// nil when `text` does not start with `MAJOR.MINOR`.
  package init?(_ text: String) {
    let numbers = text.split(whereSeparator: { !$0.isNumber }).prefix(2)
    guard text.first?.isNumber == true, numbers.count == 2,
      let major = Int(numbers[numbers.startIndex]), let minor = Int(numbers[numbers.startIndex + 1])
    else { return nil }
    self.init(major: major, minor: minor)
  }

  package static func < (lhs: KernelRelease, rhs: KernelRelease) -> Bool {
    (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
  }

  package var description: String { "\(major).\(minor)" }
}
