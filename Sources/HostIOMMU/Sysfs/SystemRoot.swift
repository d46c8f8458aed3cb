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
    Self.readFile(at: AT_FDCWD, resolve(absolute), limit: limit, truncating: truncating)
  }

  /// Opens `path` relative to `directory` (or the working directory) and reads it.
  fileprivate static func readFile(
    at directory: Int32, _ path: String, limit: Int, truncating: Bool
  ) -> Result<[UInt8], Errno> {
    // O_NONBLOCK: a FIFO planted in a broken tree must not hang the tool.
    let raw = openat(directory, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard raw >= 0 else { return .failure(Errno(rawValue: errno)) }
    let descriptor = FileDescriptor(rawValue: raw)
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
    Self.readLink(at: AT_FDCWD, resolve(absolute))
  }

  fileprivate static func readLink(at directory: Int32, _ path: String) -> Result<String, Errno> {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(PATH_MAX)) { buffer in
      let length = readlinkat(directory, path, buffer.baseAddress!, buffer.count)
      if length < 0 { return .failure(Errno(rawValue: errno)) }
      let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: length)
      return .success(String(decoding: bytes, as: UTF8.self))
    }
  }

  /// The last path component of the link target at `absolute` (how sysfs names the
  /// group of `iommu_group`, the driver of `driver`, the unit of `iommu`).
  public func readLinkBasename(_ absolute: String) -> Result<String, Errno> {
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
  public func directoryEntries(_ absolute: String) -> Result<[String], Errno> {
    Self.directoryEntries(at: AT_FDCWD, resolve(absolute))
  }

  fileprivate static func directoryEntries(at directory: Int32, _ path: String)
    -> Result<[String], Errno>
  {
    let raw = openat(directory, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK)
    guard raw >= 0 else { return .failure(Errno(rawValue: errno)) }
    guard let stream = fdopendir(raw) else {
      let failure = Errno(rawValue: errno)
      close(raw)
      return .failure(failure)
    }
    defer { closedir(stream) }
    var names: [String] = []
    while let entry = readdir(stream) {
      // Read the name in place up to its NUL: copying the 256-byte d_name field would
      // read past a short record, up to beyond the end of glibc's buffer (valgrind
      // flagged it as reads of uninitialised memory).
      let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
      let start = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
      let name = String(decoding: UnsafeBufferPointer(start: start, count: strlen(start)), as: UTF8.self)
      if name != "." && name != ".." { names.append(name) }
    }
    return .success(names)
  }

  /// Opens the directory at `absolute` so that several files in it can be read without
  /// walking the whole path again for each (a quarter of `list`'s time on a
  /// 4096-function host went to path lookups before this).
  public func openDirectory(_ absolute: String) throws(Errno) -> OpenDirectory {
    let raw = open(resolve(absolute), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK)
    guard raw >= 0 else { throw Errno(rawValue: errno) }
    return OpenDirectory(descriptor: raw, absolute: absolute)
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

/// A directory of the system tree held open: the files in it
/// are read relative to it. Paths given to its methods are relative; `absolute` is the
/// host path, for messages.
public struct OpenDirectory: ~Copyable {
  private let descriptor: Int32
  public let absolute: String

  fileprivate init(descriptor: Int32, absolute: String) {
    self.descriptor = descriptor
    self.absolute = absolute
  }

  deinit { close(descriptor) }

  /// Reads the text file `relative` (see `SystemRoot.readText`).
  public func readText(_ relative: String, limit: Int = SystemRoot.attributeLimit)
    -> Result<String, Errno>
  {
    SystemRoot.readFile(at: descriptor, relative, limit: limit, truncating: false)
      .map { String(decoding: $0, as: UTF8.self) }
  }

  public func readLink(_ relative: String) -> Result<String, Errno> {
    SystemRoot.readLink(at: descriptor, relative)
  }

  public func readLinkBasename(_ relative: String) -> Result<String, Errno> {
    readLink(relative).map(SystemRoot.basename)
  }

  public func directoryEntries(_ relative: String) -> Result<[String], Errno> {
    SystemRoot.directoryEntries(at: descriptor, relative)
  }

  /// Whether something exists at `relative` (a dangling symlink counts as absent).
  public func exists(_ relative: String) -> Bool {
    faccessat(descriptor, relative, F_OK, 0) == 0
  }
}
