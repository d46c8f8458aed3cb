// hiodctl — `-o FILE`: where the file really is, and the mode it keeps.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc  // mode_t
import SystemPackage

/// Replaces an output file the way editors and `install -C` users expect: a symbolic
/// link is written through (its target is replaced, the link stays a link), and an
/// existing file keeps its permissions (a 0600 file stays 0600, whatever the umask).
/// The replacement itself is atomic (AtomicFile).
package enum OutputFile {
  /// Links followed before giving up, as the kernel's own limit (ELOOP after 40).
  static let linkLimit = 40

  package static func replace(_ path: String, with bytes: [UInt8]) throws(HIODError) {
    try replace(path) { emit in bytes.withUnsafeBytes(emit) }
  }

  /// The same, for contents made a piece at a time (AtomicFile.write(to:produce:)).
  package static func replace(
    _ path: String, produce: (_ emit: (UnsafeRawBufferPointer) -> Void) -> Void
  ) throws(HIODError) {
    let target = try resolve(path)
    let existingMode: mode_t?
    do throws(Errno) {
      existingMode = try Syscall.permissions(target)
    } catch {
      guard error == .noSuchFileOrDirectory else {
        throw HIODError(.io, "cannot write \(path): stat \(target): \(error.description)", underlying: error)
      }
      existingMode = nil
    }
    if let existingMode {
      try AtomicFile.write(to: target, mode: UInt32(existingMode), exactMode: true, produce: produce)
    } else {
      try AtomicFile.write(to: target, produce: produce)
    }
  }

  /// The file `path` names once every symbolic link on its last component is followed:
  /// a relative link target is relative to the link's directory. A dangling link names
  /// the file to create.
  static func resolve(_ path: String) throws(HIODError) -> String {
    var current = path
    for _ in 0..<linkLimit {
      let target: String
      do throws(Errno) {
        target = try Syscall.readLink(current)
      } catch {
        // Not a link (EINVAL), or nothing there yet.
        if error == .invalidArgument || error == .noSuchFileOrDirectory { return current }
        throw HIODError(.io, "cannot write \(path): readlink \(current): \(error.description)", underlying: error)
      }
      if target.hasPrefix("/") {
        current = target
      } else if let slash = current.lastIndex(of: "/") {
        current = String(current[...slash]) + target
      } else {
        current = target
      }
    }
    throw HIODError(
      .io, "cannot write \(path): \(Errno.tooManySymbolicLinkLevels.description)",
      underlying: .tooManySymbolicLinkLevels)
  }
}
