// hiodctl — read-only access to a system tree: `/` or the directory given by --sysroot.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
public import SystemPackage

/// A read-only view of a system tree (sysfs, device nodes, procfs) rooted at `path`.
///
/// Every path hiodctl reads is written as the absolute host path (`/sys/kernel/…`) and
/// prefixed here, so a fixture tree captured from another machine is read exactly like
/// the live host. Nothing here writes, and every failure is returned as a value: a
/// vanished or unreadable file is an answer to report, never a crash.
public struct SystemRoot: Sendable {
  /// The root directory, without a trailing slash unless it is `/` itself.
  public let path: String

  /// Sysfs attributes are at most a page; 64 KiB bounds a hostile or broken file.
  public static let attributeLimit = 64 * 1024

  /// The live host.
  public static let host = SystemRoot(uncheckedPath: "/")

  init(uncheckedPath: String) {
    self.path = uncheckedPath
  }

  /// Opens `path` as a system root, checking that it is a readable directory.
  public init(validating path: String) throws(HIODError) {
    var trimmed = path
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    guard !trimmed.isEmpty else {
      throw .sysrootUnusable(path, .noSuchFileOrDirectory)
    }
    var status = stat()
    if stat(trimmed, &status) != 0 {
      throw .sysrootUnusable(path, Errno(rawValue: errno))
    }
    if status.st_mode & S_IFMT != S_IFDIR {
      throw .sysrootUnusable(path, .notDirectory)
    }
    if access(trimmed, R_OK | X_OK) != 0 {
      throw .sysrootUnusable(path, Errno(rawValue: errno))
    }
    self.path = trimmed
  }

  /// Whether this is the live host rather than a fixture tree.
  public var isHost: Bool { path == "/" }

  /// The on-disk location of the host path `absolute` (which starts with `/`).
  public func resolve(_ absolute: String) -> String {
    isHost ? absolute : path + absolute
  }

  /// Reads a text file (a sysfs attribute) of at most `limit` bytes.
  ///
  /// Invalid UTF-8 is repaired rather than rejected; the parsers then decide whether
  /// the content makes sense. A file longer than `limit` fails with `.fileTooLarge`.
  public func readText(_ absolute: String, limit: Int = attributeLimit) -> Result<String, Errno> {
    readBytes(absolute, limit: limit).map { String(decoding: $0, as: UTF8.self) }
  }

  /// Reads a file's bytes; a file longer than `limit` fails with `.fileTooLarge`.
  public func readBytes(_ absolute: String, limit: Int) -> Result<[UInt8], Errno> {
    read(absolute, limit: limit, truncating: false)
  }

  /// Reads at most the first `maxBytes` bytes of a file (for files that can be long but
  /// whose answer is at the start, like /proc/cpuinfo).
  public func readPrefix(_ absolute: String, maxBytes: Int) -> Result<[UInt8], Errno> {
    read(absolute, limit: maxBytes, truncating: true)
  }

  private func read(_ absolute: String, limit: Int, truncating: Bool) -> Result<[UInt8], Errno> {
    let descriptor: FileDescriptor
    do {
      descriptor = try FileDescriptor.open(
        // O_NONBLOCK: a FIFO planted in a broken tree must not hang the tool.
        FilePath(resolve(absolute)), .readOnly, options: [.closeOnExec, .nonBlocking])
    } catch {
      return .failure(error as? Errno ?? .ioError)
    }
    defer { try? descriptor.close() }
    var bytes: [UInt8] = []
    let outcome: Result<Void, Errno> = withUnsafeTemporaryAllocation(
      byteCount: 4096, alignment: 1
    ) { chunk in
      while true {
        let count: Int
        do {
          count = try descriptor.read(into: chunk)
        } catch {
          return .failure(error as? Errno ?? .ioError)
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
    if case .failure(let errno) = outcome { return .failure(errno) }
    return .success(bytes)
  }

  /// The target of the symbolic link at `absolute`, as stored (usually relative).
  public func readLink(_ absolute: String) -> Result<String, Errno> {
    let location = resolve(absolute)
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let length = readlink(location, &buffer, buffer.count - 1)
    if length < 0 { return .failure(Errno(rawValue: errno)) }
    let bytes = buffer[..<length].map { UInt8(bitPattern: $0) }
    return .success(String(decoding: bytes, as: UTF8.self))
  }

  /// The last path component of the link target at `absolute` (how sysfs names the
  /// group of `iommu_group`, the driver of `driver`, the unit of `iommu`).
  public func readLinkBasename(_ absolute: String) -> Result<String, Errno> {
    readLink(absolute).map { target in
      let trimmed = target.hasSuffix("/") ? String(target.dropLast()) : target
      return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }
  }

  /// The names in directory `absolute`, without `.` and `..`, in directory order.
  public func directoryEntries(_ absolute: String) -> Result<[String], Errno> {
    guard let directory = opendir(resolve(absolute)) else {
      return .failure(Errno(rawValue: errno))
    }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return .success(names)
  }

  /// Whether something exists at `absolute` (a dangling symlink counts as absent).
  public func exists(_ absolute: String) -> Bool {
    access(resolve(absolute), F_OK) == 0
  }

  /// Whether the calling user may open `absolute` for reading and writing, which is
  /// what VFIO and iommufd nodes need.
  public func isReadWritable(_ absolute: String) -> Bool {
    access(resolve(absolute), R_OK | W_OK) == 0
  }
}
