// hiodctl — writing an output file so no reader ever sees half of it.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc  // the O_* constants
import SystemPackage

/// Writes files the way node-feature-discovery and node_exporter's textfile collector
/// need them: a hidden temporary file in the same directory (both ignore dot-files),
/// flushed to disk, then renamed over the target. A failed write leaves the old file.
package enum AtomicFile {
  /// `exactMode`: give the file `mode` whatever the umask (the mode of the file it
  /// replaces, which -o keeps).
  package static func write(
    _ bytes: [UInt8], to path: String, mode: UInt32 = 0o644, exactMode: Bool = false
  ) throws(HIODError) {
    try write(to: path, mode: mode, exactMode: exactMode) { emit in bytes.withUnsafeBytes(emit) }
  }

  /// The same, for contents made a piece at a time: `produce` hands each piece to the
  /// function it is given, which writes it to the temporary file. After the first
  /// failed write the rest is dropped, and the old file stays.
  package static func write(
    to path: String, mode: UInt32 = 0o644, exactMode: Bool = false,
    produce: (_ emit: (UnsafeRawBufferPointer) -> Void) -> Void
  ) throws(HIODError) {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard !name.isEmpty else {
      throw HIODError(.usage, "-o \(path): not a file name")
    }
    let temporary = "\(directory.isEmpty ? "" : directory)/.\(name).\(Syscall.processID).tmp"
    func fail(_ step: String, _ errno: Errno) -> HIODError {
      try? Syscall.unlink(temporary)
      return HIODError(.io, "cannot write \(path): \(step): \(errno.description)", underlying: errno)
    }
    let file: OwnedDescriptor
    do {
      file = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_EXCL, permissions: mode_t(mode))
    } catch {
      throw fail("create \(temporary)", error)
    }
    if exactMode {
      do {
        try Syscall.changePermissions(file, mode_t(mode))
      } catch {
        file.close()
        throw fail("fchmod", error)
      }
    }
    var failure: Errno?
    produce { piece in
      guard failure == nil else { return }
      if case .failure(let error) = writeAll(piece, to: file) { failure = error }
    }
    if let failure {
      file.close()
      throw fail("write", failure)
    }
    do {
      try Syscall.fsync(file)
    } catch {
      file.close()
      throw fail("fsync", error)
    }
    file.close()
    do {
      try Syscall.rename(temporary, to: path)
    } catch {
      throw fail("rename", error)
    }
  }

  /// Writes all of `all`, however many calls `write(2)` takes.
  private static func writeAll(
    _ all: UnsafeRawBufferPointer, to file: borrowing OwnedDescriptor
  ) -> Result<Void, Errno> {
    // SAFETY: `all` is valid for the call (the piece being handed over); each write
    // covers the rest of it, `written..<count`, which stays within bounds.
    var written = 0
    while written < all.count {
      do throws(Errno) {
        written += try Syscall.write(file, from: UnsafeRawBufferPointer(rebasing: all[written...]))
      } catch {
        return .failure(error)
      }
    }
    return .success(())
  }
}
