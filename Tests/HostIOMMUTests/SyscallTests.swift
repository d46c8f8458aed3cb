// hiodctl tests — the syscall layer: one EINTR loop (and the kernel seam going through
// it), descriptors closed exactly once, directory listing, program bugs trapped.
// SPDX-License-Identifier: GPL-2.0-or-later

import CHIODShim
import Glibc
import Synchronization
import SystemPackage
import Testing

@testable import HostIOMMU

/// Counts the closes of the descriptors it is given.
final class CountingCloser: DescriptorCloser {
  private let closes = Mutex<[Int32]>([])
  var closed: [Int32] { closes.withLock { $0 } }
  func closeDescriptor(_ rawValue: Int32) { closes.withLock { $0.append(rawValue) } }
}

struct SyscallTests {
  @Test func interruptedCallsAreMadeAgain() throws {
    let attempts = Mutex(0)
    let value = try Syscall.retryingOnInterrupt { () throws(Errno) -> Int in
      let attempt = attempts.withLock { count in
        count += 1
        return count
      }
      if attempt < 3 { throw Errno.interrupted }
      return 42
    }
    #expect(value == 42 && attempts.withLock { $0 } == 3)
  }

  @Test func withoutRetryEINTRIsReturnedAndOtherErrorsAlways() {
    let attempts = Mutex(0)
    #expect(throws: Errno.interrupted) {
      try Syscall.retryingOnInterrupt(false) { () throws(Errno) -> Int in
        attempts.withLock { $0 += 1 }
        throw Errno.interrupted
      }
    }
    #expect(throws: Errno.ioError) {
      try Syscall.retryingOnInterrupt { () throws(Errno) -> Int in
        attempts.withLock { $0 += 1 }
        throw Errno.ioError
      }
    }
    #expect(attempts.withLock { $0 } == 2)
  }

  @Test func anOwnerClosesOnceWhenItEnds() {
    let closer = CountingCloser()
    do {
      let owner = OwnedDescriptor(adopting: 7, closer: closer)
      #expect(owner.rawValue == 7)
    }
    #expect(closer.closed == [7])
  }

  @Test func closeEndsTheOwnerThereAndOnlyOnce() {
    let closer = CountingCloser()
    func use(_ descriptor: consuming OwnedDescriptor) -> [Int32] {
      descriptor.close()
      return closer.closed  // closed already, before the function ends
    }
    #expect(use(OwnedDescriptor(adopting: 9, closer: closer)) == [9])
    #expect(closer.closed == [9])
  }

  @Test func openAddsCloseOnExec() throws {
    let file = try Syscall.open("/dev/null", O_RDONLY)
    #expect(fcntl(file.rawValue, F_GETFD) & FD_CLOEXEC != 0)
  }

  @Test func readWriteAndTheErrnoOfAFailedOpen() throws {
    let scratch = ScratchDirectory()
    let path = "\(scratch.path)/file"
    do {
      let file = try Syscall.open(path, O_WRONLY | O_CREAT | O_EXCL, permissions: 0o600)
      // SAFETY: the array's bytes, valid inside the closure, which write(2) only reads.
      let written = try Array("hiodctl".utf8).withUnsafeBytes { bytes in try Syscall.write(file, from: bytes) }
      #expect(written == 7)
      try Syscall.fsync(file)
    }
    #expect(throws: Errno.fileExists) { _ = try Syscall.open(path, O_WRONLY | O_CREAT | O_EXCL) }
    let file = try Syscall.open(path, O_RDONLY)
    var buffer = [UInt8](repeating: 0, count: 16)
    // SAFETY: `buffer`'s 16 bytes, valid inside the closure; read(2) fills at most 16.
    let count = try buffer.withUnsafeMutableBytes { bytes in try Syscall.read(file, into: bytes) }
    #expect(Array(buffer[..<count]) == Array("hiodctl".utf8))
    #expect(throws: Errno.noSuchFileOrDirectory) { _ = try Syscall.open("\(scratch.path)/missing", O_RDONLY) }
    #expect(try Syscall.fileType(path) == .other && Syscall.fileType(scratch.path) == .directory)
    #expect(try Syscall.fileType("/dev/null") == .characterDevice)
  }

  /// More entries than one 32 KiB getdents64 buffer holds, names of every length up to
  /// 255 bytes, and a name that is not UTF-8.
  @Test func directoriesAreListedWholeAcrossManyReads() throws {
    let scratch = ScratchDirectory()
    var expected: Set<String> = []
    for index in 0..<600 {
      let name = "\(index)-" + String(repeating: "n", count: index % 240)
      expected.insert(name)
      #expect(mkdir("\(scratch.path)/\(name)", 0o700) == 0)
    }
    // "o", a stray byte, "d".
    let odd = (Array("\(scratch.path)/".utf8) + [0x6f, 0xff, 0x64, 0]).map { CChar(bitPattern: $0) }
    // SAFETY: `odd` is a NUL-terminated C string, valid inside the closure; mkdir only reads it.
    #expect(odd.withUnsafeBufferPointer { mkdir($0.baseAddress!, 0o700) } == 0)
    expected.insert("o\u{FFFD}d")
    let directory = try Syscall.open(scratch.path, O_RDONLY | O_DIRECTORY)
    let names = Syscall.directoryEntryNames(directory)
    #expect(names.count == expected.count)
    #expect(Set(names) == expected)
    #expect(!names.contains(".") && !names.contains(".."))
  }

  @Test func anEmptyDirectoryHasNoNames() throws {
    let scratch = ScratchDirectory()
    #expect(Syscall.directoryEntryNames(try Syscall.open(scratch.path, O_RDONLY | O_DIRECTORY)).isEmpty)
  }

  @Test func readLinkAndAccessRelativeToADirectory() throws {
    let scratch = ScratchDirectory()
    #expect(symlink("../target/x", "\(scratch.path)/link") == 0)
    let directory = try Syscall.open(scratch.path, O_RDONLY | O_DIRECTORY)
    #expect(try Syscall.readLink("link", in: directory) == "../target/x")
    #expect(try Syscall.readLink("\(scratch.path)/link") == "../target/x")
    #expect(throws: Errno.noSuchFileOrDirectory) { try Syscall.access("link", F_OK, in: directory) }
    try Syscall.access(".", R_OK, in: directory)
  }

  @Test func pageSizeIsTheHosts() {
    #expect(Syscall.pageSize == Int(sysconf(Int32(_SC_PAGESIZE))))
    #expect(Syscall.pageSize >= 4096 && Syscall.pageSize.nonzeroBitCount == 1)
  }

  @Test func unameNamesTheRunningKernel() throws {
    var names = utsname()
    #expect(uname(&names) == 0)
    // SAFETY: `release` is a char array; its bytes are read up to the NUL, within it.
    let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    #expect(Syscall.systemNames()?.release == release)
  }

  /// A real descriptor is closed when its owner ends, and every reader of the system
  /// tree leaves no descriptor behind. In a process of its own: other tests open files
  /// in parallel, and a closed number may be reused at once.
  @Test func ownersCloseRealDescriptorsAndReadersLeakNone() async {
    await #expect(processExitsWith: .success) {
      func openCount() -> Int { (try? SystemRoot.host.directoryEntries("/proc/self/fd").get().count) ?? -1 }
      var number: Int32 = -1
      do {
        let file = try? Syscall.open("/dev/null", O_RDONLY)
        number = file?.rawValue ?? -1
      }
      guard number >= 0, fcntl(number, F_GETFD) == -1, errno == EBADF else { exit(1) }
      let root = SystemRoot.host
      var before = 0
      // The first round is a warm-up: the test runtime opens descriptors of its own then.
      for round in 0..<51 {
        if round == 1 { before = openCount() }
        _ = root.readText("/proc/self/status")
        _ = root.readText("/nonexistent")
        _ = root.readLink("/proc/self/exe")
        _ = root.directoryEntries("/proc/self")
        if let directory = try? root.openDirectory("/proc/self") {
          _ = directory.readText("comm")
          _ = directory.directoryEntries("fd")
          _ = directory.readLink("cwd")
          _ = directory.exists("status")
        }
        try? AtomicFile.write([1, 2, 3], to: "/tmp/hiodctl-syscalltests-\(getpid())")
      }
      unlink("/tmp/hiodctl-syscalltests-\(getpid())")
      exit(openCount() == before && before > 0 ? 0 : 2)
    }
  }

  /// EBADF is a bug in hiodctl, not a refusal to report: the process stops.
  @Test func aDescriptorThatIsNotOpenStopsTheProgram() async {
    await #expect(processExitsWith: .failure) {
      let notOpen = OwnedDescriptor(adopting: 1_000_000, closer: CountingCloser())
      var byte: UInt8 = 0
      // SAFETY: one valid byte; the descriptor, not the buffer, is what is wrong.
      _ = try? withUnsafeMutableBytes(of: &byte) { bytes in try Syscall.read(notOpen, into: bytes) }
    }
  }

  /// EFAULT likewise: a buffer the kernel cannot write is hiodctl's mistake.
  @Test func aBadBufferStopsTheProgram() async {
    await #expect(processExitsWith: .failure) {
      let file = try? Syscall.open("/dev/zero", O_RDONLY)
      if let file {
        // NOT SAFE, on purpose, in a process of its own: address 8 is never mapped, so
        // the kernel refuses with EFAULT instead of writing; nothing is dereferenced here.
        _ = try? Syscall.read(
          file, into: UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: 8), count: 8))
      }
    }
  }
}

/// EINTR through the kernel seam: the scripted kernel interrupts a call once and sees
/// it made again, for every open and ioctl of both backends.
struct SyscallInterruptTests {
  /// Every request's first call is interrupted.
  static func interruptingFirstCalls(_ base: @escaping ScriptedKernel.Script) -> ScriptedKernel.Script {
    { request in request.callIndex == 0 ? .failure(.interrupted) : base(request) }
  }

  @Test func legacyRetriesEveryInterruptedCall() throws {
    let plain = ScriptedKernel(script: RealizeTests.legacyScript)
    let expected = try RealizeTests.realize("0000:00:02.0", backend: .legacy, kernel: plain)
    let kernel = ScriptedKernel(
      failFirstOpen: ["/dev/vfio/1": .interrupted, "/dev/vfio/vfio": .interrupted],
      script: Self.interruptingFirstCalls(RealizeTests.legacyScript))
    let result = try RealizeTests.realize("0000:00:02.0", backend: .legacy, kernel: kernel)
    #expect(result.hostIOMMUDevice == expected.hostIOMMUDevice && result.isDetermined)
    #expect(
      Array(kernel.log.prefix(4)) == [
        "open /dev/vfio/1 -> EINTR", "open /dev/vfio/1",
        "VFIO_GROUP_GET_STATUS /dev/vfio/1 -> EINTR", "VFIO_GROUP_GET_STATUS /dev/vfio/1",
      ])
    // Each distinct request once more than without interruptions.
    #expect(kernel.log.filter { !$0.hasSuffix("-> EINTR") } == plain.log)
    #expect(kernel.log.filter { $0.hasSuffix("-> EINTR") }.count == 9)
    #expect(kernel.openDescriptors.isEmpty)
  }

  @Test func iommufdRetriesEveryInterruptedCall() throws {
    let plain = ScriptedKernel(script: RealizeTests.iommufdScript)
    let expected = try RealizeTests.realize("0000:00:02.0", backend: .iommufd, kernel: plain)
    let kernel = ScriptedKernel(
      failFirstOpen: ["/dev/iommu": .interrupted, "/dev/vfio/devices/vfio0": .interrupted],
      script: Self.interruptingFirstCalls(RealizeTests.iommufdScript))
    let result = try RealizeTests.realize("0000:00:02.0", backend: .iommufd, kernel: kernel)
    #expect(result.hostIOMMUDevice == expected.hostIOMMUDevice && result.isDetermined)
    #expect(kernel.log.filter { !$0.hasSuffix("-> EINTR") } == plain.log)
    #expect(kernel.log.filter { $0.hasSuffix("-> EINTR") }.count == 10)
    #expect(kernel.openDescriptors.isEmpty)
  }
}
