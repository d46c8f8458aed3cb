// hiodctl — read-only access to a system tree: `/` or the directory given by --sysroot.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc  // the O_* and access mode constants
package import SystemPackage

/// A read-only view of a system tree (sysfs, device nodes, procfs) rooted at `path`.
///
/// Every path hiodctl reads is written as the absolute host path (`/sys/kernel/…`) and
/// prefixed here, so a fixture tree captured from another machine is read exactly like
/// the live host. Nothing here writes, and every failure is returned as a value: a
/// vanished or unreadable file is an answer to report, never a crash.
package struct SystemRoot: Sendable {
  /// The root directory, without a trailing slash unless it is `/` itself.
  package let path: String

  /// Sysfs attributes are at most a page; 64 KiB bounds a hostile or broken file.
  package static let attributeLimit = 64 * 1024

  /// The live host.
  package static let host = SystemRoot(uncheckedPath: "/")

  init(uncheckedPath: String) {
    self.path = uncheckedPath
  }

  /// Opens `path` as a system root, checking that it is a readable directory.
  package init(validating path: String) throws(HIODError) {
    var trimmed = path
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard !trimmed.isEmpty else {
      throw .sysrootUnusable(path, .noSuchFileOrDirectory)
    }
    let type: FileType
    do {
      type = try Syscall.fileType(trimmed)
    } catch {
      throw .sysrootUnusable(path, error)
    }
    guard type == .directory else {
      throw .sysrootUnusable(path, .notDirectory)
    }
    do {
      try Syscall.access(trimmed, R_OK | X_OK)
    } catch {
      throw .sysrootUnusable(path, error)
    }
    self.path = trimmed
  }

  /// Whether this is the live host rather than a fixture tree.
  package var isHost: Bool { path == "/" }

  /// The on-disk location of the host path `absolute` (which starts with `/`).
  package func resolve(_ absolute: String) -> String {
    isHost ? absolute : path + absolute
  }

  /// Reads a text file (a sysfs attribute) of at most `limit` bytes.
  ///
  /// Invalid UTF-8 is repaired rather than rejected; the parsers then decide whether
  /// the content makes sense. A file longer than `limit` fails with `.fileTooLarge`.
  package func readText(_ absolute: String, limit: Int = attributeLimit) -> Result<String, Errno> {
    readBytes(absolute, limit: limit).map { String(decoding: $0, as: UTF8.self) }
  }

  /// Reads a file's bytes; a file longer than `limit` fails with `.fileTooLarge`.
  package func readBytes(_ absolute: String, limit: Int) -> Result<[UInt8], Errno> {
    read(absolute, limit: limit, truncating: false)
  }

  /// Reads at most the first `maxBytes` bytes of a file (for files that can be long but
  /// whose answer is at the start, like /proc/cpuinfo).
  package func readPrefix(_ absolute: String, maxBytes: Int) -> Result<[UInt8], Errno> {
    read(absolute, limit: maxBytes, truncating: true)
  }

  private func read(_ absolute: String, limit: Int, truncating: Bool) -> Result<[UInt8], Errno> {
    Result { () throws(Errno) -> [UInt8] in
      let file = try Syscall.open(resolve(absolute), Self.readFlags)
      return try Self.contents(of: file, limit: limit, truncating: truncating)
    }
  }

  /// How every file of the tree is opened. O_NONBLOCK: a FIFO planted in a broken tree
  /// must not hang the tool.
  fileprivate static let readFlags = O_RDONLY | O_NONBLOCK
  fileprivate static let directoryFlags = O_RDONLY | O_DIRECTORY | O_NONBLOCK

  /// Reads an open file to its end, or to `limit` bytes.
  fileprivate static func contents(of file: borrowing OwnedDescriptor, limit: Int, truncating: Bool)
    throws(Errno) -> [UInt8]
  {
    var bytes: [UInt8] = []
    // SAFETY: `chunk` is valid inside the closure only and never escapes it; read(2)
    // fills at most its 4096 bytes and returns how many, and only `chunk[..<count]`
    // (or less) is copied out.
    let outcome: Result<Void, Errno> = withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 1) { chunk in
      while true {
        let count: Int
        do throws(Errno) {
          count = try Syscall.read(file, into: chunk)
        } catch {
          return .failure(error)
        }
        if count == 0 { return .success(()) }
        if bytes.count + count > limit {
          guard truncating else { return .failure(.fileTooLarge) }
          bytes.append(contentsOf: chunk[..<(limit - bytes.count)])
          return .success(())
        }
        bytes.append(contentsOf: chunk[..<count])
      }
    }
    try outcome.get()
    return bytes
  }

  /// The target of the symbolic link at `absolute`, as stored (usually relative).
  package func readLink(_ absolute: String) -> Result<String, Errno> {
    Result { () throws(Errno) -> String in try Syscall.readLink(resolve(absolute)) }
  }

  /// The last path component of the link target at `absolute` (how sysfs names the
  /// group of `iommu_group`, the driver of `driver`, the unit of `iommu`).
  package func readLinkBasename(_ absolute: String) -> Result<String, Errno> {
    readLink(absolute).map(Self.basename)
  }

  fileprivate static func basename(_ target: String) -> String {
    var end = target.endIndex
    while end > target.startIndex, target[target.index(before: end)] == "/" {
      end = target.index(before: end)
    }
    guard end > target.startIndex else { return target }
    let start = target[..<end].lastIndex(of: "/").map { target.index(after: $0) }
    return String(target[(start ?? target.startIndex)..<end])
  }

  /// The names in directory `absolute`, without `.` and `..`, in directory order.
  package func directoryEntries(_ absolute: String) -> Result<[String], Errno> {
    Result { () throws(Errno) -> [String] in
      let directory = try Syscall.open(resolve(absolute), Self.directoryFlags)
      return Syscall.directoryEntryNames(directory)
    }
  }

  /// Opens the directory at `absolute` so that several files in it can be read without
  /// walking the whole path again for each (a quarter of `list`'s time on a
  /// 4096-function host went to path lookups before this).
  package func openDirectory(_ absolute: String) throws(Errno) -> OpenDirectory {
    OpenDirectory(descriptor: try Syscall.open(resolve(absolute), Self.directoryFlags), absolute: absolute)
  }

  /// Whether something exists at `absolute` (a dangling symlink counts as absent).
  package func exists(_ absolute: String) -> Bool {
    (try? Syscall.access(resolve(absolute), F_OK)) != nil
  }

  /// Whether the calling user may open `absolute` for reading and writing, which is
  /// what VFIO and iommufd nodes need.
  package func isReadWritable(_ absolute: String) -> Bool {
    (try? Syscall.access(resolve(absolute), R_OK | W_OK)) != nil
  }
}

/// A directory of the system tree held open: the files in it
/// are read relative to it. Paths given to its methods are relative; `absolute` is the
/// host path, for messages.
package struct OpenDirectory: ~Copyable {
  private let descriptor: OwnedDescriptor
  package let absolute: String

  fileprivate init(descriptor: consuming OwnedDescriptor, absolute: String) {
    self.descriptor = descriptor
    self.absolute = absolute
  }

  /// Reads the text file `relative` (see `SystemRoot.readText`).
  package func readText(_ relative: String, limit: Int = SystemRoot.attributeLimit)
    -> Result<String, Errno>
  {
    Result { () throws(Errno) -> [UInt8] in
      let file = try Syscall.open(relative, SystemRoot.readFlags, in: descriptor)
      return try SystemRoot.contents(of: file, limit: limit, truncating: false)
    }.map { String(decoding: $0, as: UTF8.self) }
  }

  package func readLink(_ relative: String) -> Result<String, Errno> {
    Result { () throws(Errno) -> String in try Syscall.readLink(relative, in: descriptor) }
  }

  package func readLinkBasename(_ relative: String) -> Result<String, Errno> {
    readLink(relative).map(SystemRoot.basename)
  }

  package func directoryEntries(_ relative: String) -> Result<[String], Errno> {
    Result { () throws(Errno) -> [String] in
      let directory = try Syscall.open(relative, SystemRoot.directoryFlags, in: descriptor)
      return Syscall.directoryEntryNames(directory)
    }
  }

  /// Whether something exists at `relative` (a dangling symlink counts as absent).
  package func exists(_ relative: String) -> Bool {
    (try? Syscall.access(relative, F_OK, in: descriptor)) != nil
  }
}
