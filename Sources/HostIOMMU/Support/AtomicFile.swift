// hiodctl — writing an output file so no reader ever sees half of it.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import SystemPackage

/// Writes files the way node-feature-discovery and node_exporter's textfile collector
/// need them: a hidden temporary file in the same directory (both ignore dot-files),
/// flushed to disk, then renamed over the target. A failed write leaves the old file.
public enum AtomicFile {
  public static func write(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o644) throws(HIODError) {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard !name.isEmpty else {
      throw HIODError(.usage, "-o \(path): not a file name")
    }
    let temporary = "\(directory.isEmpty ? "" : directory)/.\(name).\(getpid()).tmp"
    func fail(_ step: String, _ errno: Errno) -> HIODError {
      unlink(temporary)
      return HIODError(.io, "cannot write \(path): \(step): \(errno.description)", underlying: errno)
    }
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
    guard descriptor >= 0 else { throw fail("create \(temporary)", Errno(rawValue: errno)) }
    var written = 0
    while written < bytes.count {
      let result = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
      if result < 0 {
        if errno == EINTR { continue }
        let error = Errno(rawValue: errno)
        close(descriptor)
        throw fail("write", error)
      }
      written += result
    }
    if fsync(descriptor) != 0 {
      let error = Errno(rawValue: errno)
      close(descriptor)
      throw fail("fsync", error)
    }
    close(descriptor)
    if rename(temporary, path) != 0 { throw fail("rename", Errno(rawValue: errno)) }
  }
}
