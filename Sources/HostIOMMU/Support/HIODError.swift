// hiodctl — the one error type the domain throws: what failed, why, and what to do.
// SPDX-License-Identifier: GPL-2.0-or-later

package import SystemPackage

/// An error hiodctl reports to its user as `hiodctl: <message>` plus hint lines.
///
/// Built only through the static factories below (and their siblings in other files),
/// so every message names the object it is about and the same cause is always worded
/// the same way. `code` is a struct over a private enum so new codes can be added
/// without breaking switches elsewhere.
package struct HIODError: Error, Sendable, CustomStringConvertible {
  /// The category of failure; decides the exit status.
  package struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Storage: String, Hashable, Sendable {
      case usage, notFound, io, libpci, noMatch
    }
    private let storage: Storage
    private init(_ storage: Storage) { self.storage = storage }

    /// The command line was wrong.
    package static let usage = Code(.usage)
    /// Something named on the command line does not exist.
    package static let notFound = Code(.notFound)
    /// Reading the host (sysfs, device nodes) failed.
    package static let io = Code(.io)
    /// libpci reported an error.
    package static let libpci = Code(.libpci)
    /// A filter matched no device.
    package static let noMatch = Code(.noMatch)

    package var description: String { storage.rawValue }
  }

  package let code: Code
  /// One sentence, lower-case start, no trailing period, naming the object.
  package let message: String
  /// Zero or more suggestions, each printed on its own `hint:` line.
  package let hints: [String]
  /// The errno behind the failure, when there was one.
  package let underlying: Errno?

  package init(_ code: Code, _ message: String, hints: [String] = [], underlying: Errno? = nil) {
    self.code = code
    self.message = message
    self.hints = hints
    self.underlying = underlying
  }

  /// The exit status this error ends the process with.
  package var exitStatus: ExitStatus {
    code == .usage ? .usage : .runtimeError
  }

  package var description: String {
    ([message] + hints.map { "hint: \($0)" }).joined(separator: "\n")
  }
}

extension HIODError {
  /// `--sysroot DIR` does not name a readable directory: a missing or unreadable input,
  /// exit status 3 like a missing --host file (64 is for malformed arguments).
  static func sysrootUnusable(_ path: String, _ errno: Errno) -> HIODError {
    HIODError(
      .io, "--sysroot \(path): \(errno.description)",
      hints: ["--sysroot takes a directory that holds a system tree (sys/, dev/)"],
      underlying: errno)
  }

  /// The PCI device directory of sysfs is missing under the system root.
  static func noPCIBus(_ path: String, sysroot: String, _ errno: Errno) -> HIODError {
    var hints = ["this host exposes no PCI bus through sysfs"]
    if sysroot != "/" {
      hints = ["is \(sysroot) a system root? it should contain sys/bus/pci/devices"]
    }
    return HIODError(.io, "cannot read \(path): \(errno.description)", hints: hints, underlying: errno)
  }

  /// The PCI device directory holds a name that is not a PCI address. The kernel never
  /// makes one; libpci (and lspci) stop the whole scan on it, so it is caught first.
  static func notAPCIAddressEntry(_ name: String, in path: String) -> HIODError {
    HIODError(
      .libpci, "\(path)/\(name): not a PCI address; libpci cannot enumerate this tree",
      hints: [
        "the kernel names every entry there DOMAIN:BUS:DEVICE.FUNCTION; is this a damaged capture?"
      ])
  }

  /// libpci reported an error that stops enumeration.
  static func libpci(_ message: String, during operation: String) -> HIODError {
    HIODError(.libpci, "libpci: \(operation): \(message)")
  }
}
