// hiodctl — every system call HostIOMMU makes, in one place: typed errors, EINTR retried
// in one loop, program bugs trapped, and every descriptor an owner that closes once.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import Glibc
import SystemPackage

// The shape is swift-system's: one Swift function per C call, `throws(Errno)`, a
// `retryOnInterrupt` parameter that defaults to true, and errno read right after the
// call, before anything else can run and change it. As in swift-nio, EFAULT and EBADF
// are not answers from the kernel but bugs in hiodctl (a buffer or descriptor it passed
// is wrong), so they stop the program with a message instead of being reported as
// "the kernel refused".
//
// Not here: Sources/HostIOMMU/QEMU/HostQEMU.swift runs QEMU with posix_spawn, pipe,
// poll and read of its own, and VIOMMU/CheckContext.swift reads the page size with
// sysconf; both belong to the vIOMMU side and have not moved yet (they may call
// `Syscall.pageSize` and the descriptor owner below).

// MARK: - Descriptors

/// Closes descriptors that did not come from `open(2)`: the scripted kernel of the unit
/// tests hands out made-up numbers, which must never reach the real `close(2)`.
protocol DescriptorCloser: Sendable {
  func closeDescriptor(_ rawValue: Int32)
}

/// An open file descriptor and the duty to close it.
///
/// It is closed exactly once: when its owner ends (`deinit`), or earlier by `close()`,
/// which consumes it. Not copyable, so it can be neither closed twice nor used after
/// close; it is lent with `borrowing`. Files, directories, the atomic writer's temporary
/// file and the VFIO/iommufd nodes are all held this way.
struct OwnedDescriptor: ~Copyable {
  /// The descriptor number. Read only where an API demands the number itself: the
  /// syscalls in this file, the kernel ABI fields that carry a descriptor
  /// (`VFIO_DEVICE_BIND_IOMMUFD.iommufd`, the `int32 *` of `VFIO_GROUP_SET_CONTAINER`,
  /// through `KernelDescriptor.numberForKernel`), and the scripted kernel's bookkeeping.
  /// Never kept apart from its owner.
  let rawValue: Int32
  /// nil: `close(2)`.
  private let closer: (any DescriptorCloser)?

  /// Takes ownership of a descriptor `open(2)` returned.
  fileprivate init(adopting rawValue: Int32) {
    self.rawValue = rawValue
    self.closer = nil
  }

  /// Takes ownership of a descriptor that `closer` closes (a stand-in kernel's number).
  init(adopting rawValue: Int32, closer: any DescriptorCloser) {
    self.rawValue = rawValue
    self.closer = closer
  }

  deinit {
    if let closer {
      closer.closeDescriptor(rawValue)
    } else {
      Syscall.close(rawValue)
    }
  }

  /// Closes the descriptor now rather than at the end of the owner's scope.
  consuming func close() {
    // Consuming `self` ends it here, and `deinit` closes it: the one place that does.
  }
}

/// What `stat(2)` says a path is, as far as hiodctl asks.
enum FileType: Sendable {
  case directory
  case characterDevice
  case other
}

/// `uname(2)`'s names of the running system.
struct SystemNames: Sendable {
  var nodename: String
  var release: String
  var version: String
}

// MARK: - System calls

/// `stat(2)`, outside `Syscall`: inside it, `stat` and `Glibc.stat` name the struct.
private func systemStat(_ path: UnsafePointer<CChar>, _ status: inout stat) -> Int32 {
  stat(path, &status)
}

enum Syscall {
  /// The errnos that mean hiodctl itself is wrong: a bad buffer (EFAULT) or a
  /// descriptor it does not hold (EBADF). Neither can come from the host's state.
  private static func trapProgramBugs(_ error: Errno, _ call: StaticString) {
    if error == .badAddress || error == .badFileDescriptor {
      preconditionFailure(
        "\(call)(2) failed with \(error.symbol) (\(error.description)): hiodctl passed a bad buffer or descriptor")
    }
  }

  /// The one EINTR loop: runs `body` again while it fails with `Errno.interrupted`, if
  /// `retryOnInterrupt`. The kernel seam's wrappers (KernelCalls.swift) use it too, so
  /// the scripted kernel of the unit tests exercises it.
  static func retryingOnInterrupt<Value: ~Copyable>(
    _ retryOnInterrupt: Bool = true, _ body: () throws(Errno) -> Value
  ) throws(Errno) -> Value {
    while true {
      do throws(Errno) {
        return try body()
      } catch {
        if retryOnInterrupt && error == .interrupted { continue }
        throw error
      }
    }
  }

  /// Runs a C call that returns -1 and sets errno on failure, and turns that into a
  /// thrown `Errno` (read at once, before anything can overwrite it).
  private static func valueOrErrno<Value: FixedWidthInteger & SignedInteger>(
    _ name: StaticString, _ retryOnInterrupt: Bool, _ call: () -> Value
  ) throws(Errno) -> Value {
    try retryingOnInterrupt(retryOnInterrupt) { () throws(Errno) -> Value in
      let value = call()
      guard value == -1 else { return value }
      let error = Errno(rawValue: Glibc.errno)
      trapProgramBugs(error, name)
      throw error
    }
  }

  // MARK: Opening and closing

  /// `open(2)`, always with `O_CLOEXEC`: hiodctl starts QEMU, which must inherit none
  /// of its descriptors.
  static func open(
    _ path: String, _ flags: Int32, permissions: mode_t = 0, retryOnInterrupt: Bool = true
  ) throws(Errno) -> OwnedDescriptor {
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    let raw = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("open", retryOnInterrupt) { Glibc.open(cPath, flags | O_CLOEXEC, permissions) }
    }
    return OwnedDescriptor(adopting: raw)
  }

  /// `openat(2)`: `path` relative to the open directory `directory`, with `O_CLOEXEC`.
  static func open(
    _ path: String, _ flags: Int32, in directory: borrowing OwnedDescriptor, retryOnInterrupt: Bool = true
  ) throws(Errno) -> OwnedDescriptor {
    let base = directory.rawValue
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    let raw = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("openat", retryOnInterrupt) { Glibc.openat(base, cPath, flags | O_CLOEXEC) }
    }
    return OwnedDescriptor(adopting: raw)
  }

  /// `close(2)`, for `OwnedDescriptor` only. Never retried: Linux has released the
  /// descriptor even when close returns EINTR, and a second close could close one that
  /// another thread just got. Other errors are ignored (the descriptor is gone either
  /// way); EBADF means it was closed twice, a bug.
  fileprivate static func close(_ rawValue: Int32) {
    if Glibc.close(rawValue) == -1 {
      trapProgramBugs(Errno(rawValue: Glibc.errno), "close")
    }
  }

  // MARK: Reading and writing

  /// `read(2)` into `buffer`; 0 at the end of the file.
  static func read(
    _ descriptor: borrowing OwnedDescriptor, into buffer: UnsafeMutableRawBufferPointer,
    retryOnInterrupt: Bool = true
  ) throws(Errno) -> Int {
    let raw = descriptor.rawValue
    // SAFETY: `buffer` is writable for `buffer.count` bytes for the whole call; the
    // kernel writes at most that many.
    return try valueOrErrno("read", retryOnInterrupt) { Glibc.read(raw, buffer.baseAddress, buffer.count) }
  }

  /// `write(2)` from `buffer`; returns how many bytes were written (possibly fewer).
  static func write(
    _ descriptor: borrowing OwnedDescriptor, from buffer: UnsafeRawBufferPointer, retryOnInterrupt: Bool = true
  ) throws(Errno) -> Int {
    let raw = descriptor.rawValue
    // SAFETY: `buffer` is readable for `buffer.count` bytes for the whole call.
    return try valueOrErrno("write", retryOnInterrupt) { Glibc.write(raw, buffer.baseAddress, buffer.count) }
  }

  /// `fsync(2)`.
  static func fsync(_ descriptor: borrowing OwnedDescriptor, retryOnInterrupt: Bool = true) throws(Errno) {
    let raw = descriptor.rawValue
    _ = try valueOrErrno("fsync", retryOnInterrupt) { Glibc.fsync(raw) }
  }

  /// The names in the open directory `directory`, without `.` and `..`, in the order
  /// `getdents64(2)` returns them (readdir's order). An error part-way ends the listing
  /// with the names read so far, as a readdir(3) loop does.
  static func directoryEntryNames(_ directory: borrowing OwnedDescriptor) -> [String] {
    let raw = directory.rawValue
    var names: [String] = []
    // glibc's readdir reads 32 KiB at a time; so does this.
    withUnsafeTemporaryAllocation(byteCount: 32 * 1024, alignment: 8) { buffer in
      while true {
        let filled: Int
        do throws(Errno) {
          // SAFETY: the kernel writes at most `buffer.count` bytes into `buffer`, which
          // lives until the closure returns.
          filled = try valueOrErrno("getdents64", true) { hiod_getdents64(raw, buffer.baseAddress, buffer.count) }
        } catch {
          return
        }
        if filled == 0 { return }
        // SAFETY: the kernel initialised the first `filled` bytes; only those are read,
        // each record within its own `d_reclen`.
        let records = UnsafeRawBufferPointer(rebasing: buffer[..<filled])
        var offset = 0
        while offset + Int(HIOD_DIRENT64_NAME_OFFSET) <= records.count {
          let length = Int(
            records.loadUnaligned(fromByteOffset: offset + Int(HIOD_DIRENT64_RECLEN_OFFSET), as: UInt16.self))
          guard length > Int(HIOD_DIRENT64_NAME_OFFSET), offset + length <= records.count else { return }
          // The name runs to its NUL, which lies within the record.
          let field = records[(offset + Int(HIOD_DIRENT64_NAME_OFFSET))..<(offset + length)]
          let name = String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
          if name != "." && name != ".." { names.append(name) }
          offset += length
        }
      }
    }
    return names
  }

  // MARK: Links, metadata, names

  /// `readlink(2)`: the target of the symbolic link at `path`, as stored.
  static func readLink(_ path: String) throws(Errno) -> String {
    try readLink(at: AT_FDCWD, path)
  }

  /// `readlinkat(2)`: `path` relative to the open directory `directory`.
  static func readLink(_ path: String, in directory: borrowing OwnedDescriptor) throws(Errno) -> String {
    try readLink(at: directory.rawValue, path)
  }

  private static func readLink(at base: Int32, _ path: String) throws(Errno) -> String {
    let capacity = Int(PATH_MAX)
    // SAFETY: `buffer` (bound to CChar) is valid inside the closure only and never
    // escapes it; readlinkat writes at most `capacity` bytes into it and returns how
    // many, and exactly those are decoded (the target is not NUL-terminated).
    let result: Result<String, Errno> = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
      Result { () throws(Errno) -> String in
        // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
        // call reads it and keeps no pointer to it.
        let length = try withCString(path) { (cPath) throws(Errno) -> Int in
          try valueOrErrno("readlinkat", true) { readlinkat(base, cPath, buffer.baseAddress!, capacity) }
        }
        return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: length), as: UTF8.self)
      }
    }
    return try result.get()
  }

  /// `access(2)`: whether the caller may reach `path` with `mode` (`F_OK`, `R_OK`…).
  static func access(_ path: String, _ mode: Int32) throws(Errno) {
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    _ = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("access", true) { Glibc.access(cPath, mode) }
    }
  }

  /// `faccessat(2)`: `path` relative to the open directory `directory`.
  static func access(_ path: String, _ mode: Int32, in directory: borrowing OwnedDescriptor) throws(Errno) {
    let base = directory.rawValue
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    _ = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("faccessat", true) { faccessat(base, cPath, mode, 0) }
    }
  }

  /// `stat(2)`, following links: what `path` is.
  static func fileType(_ path: String) throws(Errno) -> FileType {
    var status = stat()
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    _ = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("stat", true) { systemStat(cPath, &status) }
    }
    switch status.st_mode & S_IFMT {
    case S_IFDIR: return .directory
    case S_IFCHR: return .characterDevice
    default: return .other
    }
  }

  /// `rename(2)`.
  static func rename(_ source: String, to destination: String) throws(Errno) {
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    _ = try withCString(source) { (from) throws(Errno) -> Int32 in
      // SAFETY: as `from`, for `to`.
      try withCString(destination) { (to) throws(Errno) -> Int32 in
        try valueOrErrno("rename", true) { Glibc.rename(from, to) }
      }
    }
  }

  /// `unlink(2)`.
  static func unlink(_ path: String) throws(Errno) {
    // SAFETY: the C string is NUL-terminated and valid until the closure returns; the
    // call reads it and keeps no pointer to it.
    _ = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("unlink", true) { Glibc.unlink(cPath) }
    }
  }

  /// `stat(2)`, following links: the permission bits of `path` (`st_mode & 07777`). For
  /// `-o` onto an existing file, whose mode the replacement keeps.
  static func permissions(_ path: String) throws(Errno) -> mode_t {
    var status = stat()
    // SAFETY: as in `fileType`.
    _ = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("stat", true) { systemStat(cPath, &status) }
    }
    return status.st_mode & 0o7777
  }

  /// `stat(2)`, following links: the file type, owner and mode of `path`. For the trust
  /// check of a QEMU binary before it is run.
  static func ownership(_ path: String) throws(Errno) -> (isRegularFile: Bool, owner: uid_t, mode: mode_t) {
    var status = stat()
    // SAFETY: as in `fileType`.
    _ = try withCString(path) { (cPath) throws(Errno) -> Int32 in
      try valueOrErrno("stat", true) { systemStat(cPath, &status) }
    }
    return (status.st_mode & S_IFMT == S_IFREG, status.st_uid, status.st_mode)
  }

  /// `realpath(3)`: `path` with every symbolic link, `.` and `..` resolved.
  static func realPath(_ path: String) throws(Errno) -> String {
    // SAFETY: the C string is valid until the closure returns; realpath allocates the
    // result (freed here) and keeps no pointer to its argument.
    try withCString(path) { (cPath) throws(Errno) -> String in
      guard let resolved = Glibc.realpath(cPath, nil) else { throw Errno(rawValue: Glibc.errno) }
      defer { free(resolved) }
      return String(cString: resolved)
    }
  }

  /// `fchmod(2)`: sets the mode exactly, whatever the umask.
  static func changePermissions(_ descriptor: borrowing OwnedDescriptor, _ mode: mode_t) throws(Errno) {
    let raw = descriptor.rawValue
    _ = try valueOrErrno("fchmod", true) { Glibc.fchmod(raw, mode) }
  }

  /// `uname(2)`; nil if it fails (it cannot, short of a bad buffer).
  static func systemNames() -> SystemNames? {
    var names = utsname()
    guard Glibc.uname(&names) == 0 else { return nil }
    return SystemNames(
      nodename: string(names.nodename), release: string(names.release), version: string(names.version))
  }

  /// A fixed `char[N]` field of a C struct, up to its first NUL.
  private static func string<T>(_ field: T) -> String {
    // SAFETY: `field` is a homogeneous tuple of CChar (a C char array), so its bytes are
    // its characters; reading stops at the first NUL or at the end of the field.
    withUnsafeBytes(of: field) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
  }

  /// A C string of `string` for `body`, with typed errors (String.withCString rethrows
  /// untyped ones).
  private static func withCString<Value>(
    _ string: String, _ body: (UnsafePointer<CChar>) throws(Errno) -> Value
  ) throws(Errno) -> Value {
    // SAFETY: the pointer is valid only inside the closure, and `body` does not let it
    // escape (every caller passes it straight to one C call).
    // The raw bytes of the path: an argument that was not UTF-8 reaches the kernel as given
    // (Support/PathBytes.swift).
    try PathBytes.withCString(string, body)
  }

  /// `getpid(2)`.
  static var processID: Int32 { getpid() }

  /// `sysconf(_SC_PAGESIZE)`: the host page size, QEMU's `qemu_real_host_page_size()`.
  static let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

  /// The processors this process may run on: `sched_getaffinity(2)`, which a cpuset or
  /// `taskset` narrows, else `sysconf(_SC_NPROCESSORS_ONLN)`; at least 1.
  static func usableProcessors() -> Int {
    let count = Int(hiod_affinity_processor_count())
    return count > 0 ? count : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }

  // MARK: Running a program

  /// Runs `argv` (an absolute path first) with a minimal environment, standard input and
  /// error on /dev/null, and returns what it printed on standard output (at most 64 KiB),
  /// or nil if it could not start, or did not end within `timeoutSeconds` (it is then
  /// killed). For the trusted QEMU binary's `--version` only.
  static func output(of argv: [String], timeoutSeconds: Int) -> String? {
    var ends: [Int32] = [0, 0]
    guard Glibc.pipe(&ends) == 0 else { return nil }
    let readEnd = OwnedDescriptor(adopting: ends[0])
    let writeEnd = OwnedDescriptor(adopting: ends[1])
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // The child keeps only its copy of the write end, as its standard output.
    posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
    posix_spawn_file_actions_addclose(&actions, ends[0])
    posix_spawn_file_actions_addclose(&actions, ends[1])
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    // SAFETY: the C strings live until posix_spawn returns; the arrays end with nil.
    let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for argument in cArguments { free(argument) } }
    let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), strdup("LC_ALL=C"), nil]
    defer { for variable in environment { free(variable) } }
    let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environment)
    // The parent's write end closes now, so the read below sees the end of the output.
    writeEnd.close()
    guard spawned == 0 else { return nil }
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    var poll = pollfd(fd: readEnd.rawValue, events: Int16(POLLIN), revents: 0)
    let deadline = time(nil) + timeoutSeconds
    while output.count < 1 << 16 {
      let left = Int32(max(0, deadline - time(nil))) * 1000
      guard left > 0, Glibc.poll(&poll, 1, left) > 0 else { break }
      let result = buffer.withUnsafeMutableBytes { bytes in
        Result { () throws(Errno) -> Int in try read(readEnd, into: bytes) }
      }
      guard case .success(let count) = result, count > 0 else { break }
      output += buffer[0..<count]
    }
    var status: Int32 = 0
    while waitpid(pid, &status, WNOHANG) == 0 {
      if time(nil) > deadline {
        kill(pid, SIGKILL)
        _ = waitpid(pid, &status, 0)
        return nil
      }
      usleep(5000)
    }
    return String(decoding: output, as: UTF8.self)
  }

  // MARK: ioctl

  /// `ioctl(2)` whose argument is a pointer to a uapi struct or buffer.
  static func ioctl(
    _ descriptor: borrowing OwnedDescriptor, _ request: UInt, _ argument: UnsafeMutableRawPointer,
    retryOnInterrupt: Bool = true
  ) throws(Errno) -> Int32 {
    let raw = descriptor.rawValue
    // SAFETY: `argument` points at the struct (or argsz-sized buffer) the request's uapi
    // defines, and stays valid for the call (the callers hold it in a with… scope).
    return try valueOrErrno("ioctl", retryOnInterrupt) { Glibc.ioctl(raw, request, argument) }
  }

  /// `ioctl(2)` whose argument is an integer passed by value (or unused).
  static func ioctl(
    _ descriptor: borrowing OwnedDescriptor, _ request: UInt, value: Int32, retryOnInterrupt: Bool = true
  ) throws(Errno) -> Int32 {
    let raw = descriptor.rawValue
    return try valueOrErrno("ioctl", retryOnInterrupt) { Glibc.ioctl(raw, request, value) }
  }
}
