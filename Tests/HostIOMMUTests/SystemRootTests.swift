// hiodctl tests — the rooted, read-only file access under every scan.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import HostIOMMU
import SystemPackage
import Testing

/// A scratch directory, removed when the test ends.
final class ScratchDirectory {
  let path: String

  init() {
    var template = Array("/tmp/hiodctl-test-XXXXXX".utf8CString)
    // SAFETY: `template` is NUL-terminated (utf8CString) and mkdtemp rewrites only its
    // six X's in place; the pointer does not outlive the closure.
    path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
  }

  deinit {
    _ = system("rm -rf '\(path)'")
  }

  func write(_ relative: String, _ bytes: [UInt8]) {
    let file = "\(path)/\(relative)"
    _ = system("mkdir -p \"$(dirname '\(file)')\"")
    let handle = fopen(file, "w")!
    // SAFETY: fwrite reads exactly `count` bytes of `bytes`' storage, valid in the closure.
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
    fclose(handle)
  }
}

struct SystemRootTests {
  @Test func missingSysrootIsAUsageError() {
    #expect {
      _ = try SystemRoot(validating: "/nonexistent/hiodctl-root")
    } throws: { error in
      let failure = error as? HIODError
      // A missing input is a runtime error (3), like a missing --host file (issue 12).
      return failure?.exitStatus == .runtimeError
        && failure?.message == "--sysroot /nonexistent/hiodctl-root: No such file or directory"
    }
  }

  @Test func aFileIsNotASysroot() throws {
    let scratch = ScratchDirectory()
    scratch.write("file", [1])
    #expect(throws: HIODError.self) { _ = try SystemRoot(validating: "\(scratch.path)/file") }
  }

  @Test func readsAttributesUnderTheRoot() throws {
    let scratch = ScratchDirectory()
    scratch.write("sys/x", Array("0x8086\n".utf8))
    let root = try SystemRoot(validating: scratch.path + "/")
    #expect(root.path == scratch.path)
    #expect(try root.readText("/sys/x").get() == "0x8086\n")
    #expect(root.resolve("/sys/x") == scratch.path + "/sys/x")
  }

  @Test func refusesFilesLargerThanTheLimit() throws {
    let scratch = ScratchDirectory()
    scratch.write("big", [UInt8](repeating: 0x41, count: 10_000))
    let root = try SystemRoot(validating: scratch.path)
    #expect(root.readText("/big", limit: 9_999).failureErrno == .fileTooLarge)
    #expect(try root.readText("/big", limit: 10_000).get().count == 10_000)
    #expect(try root.readPrefix("/big", maxBytes: 5).get() == Array("AAAAA".utf8))
  }

  @Test func repairsInvalidUTF8InsteadOfFailing() throws {
    let scratch = ScratchDirectory()
    scratch.write("type", [0xff, 0xfe, 0x44, 0x4d, 0x41])
    let root = try SystemRoot(validating: scratch.path)
    #expect(try root.readText("/type").get() == "\u{FFFD}\u{FFFD}DMA")
  }

  @Test func aFIFODoesNotHang() throws {
    let scratch = ScratchDirectory()
    #expect(mkfifo("\(scratch.path)/fifo", 0o600) == 0)
    let root = try SystemRoot(validating: scratch.path)
    // With nobody writing, a non-blocking read sees end of file at once.
    #expect(try root.readText("/fifo").get() == "")
  }

  @Test func symlinkLoopsAndDanglingLinksAreErrorsNotCrashes() throws {
    let scratch = ScratchDirectory()
    #expect(symlink("b", "\(scratch.path)/a") == 0)
    #expect(symlink("a", "\(scratch.path)/b") == 0)
    #expect(symlink("nowhere", "\(scratch.path)/dangling") == 0)
    let root = try SystemRoot(validating: scratch.path)
    #expect(root.readText("/a").failureErrno == .tooManySymbolicLinkLevels)
    #expect(root.readText("/dangling").failureErrno == .noSuchFileOrDirectory)
    #expect(try root.readLinkBasename("/dangling").get() == "nowhere")
    #expect(!root.exists("/dangling"))
    #expect(root.directoryEntries("/a").failureErrno == .tooManySymbolicLinkLevels)
  }
}

extension Result where Failure == Errno {
  var failureErrno: Errno? {
    if case .failure(let errno) = self { return errno }
    return nil
  }
}

/// `symlink(2)` creating the parent directories first.
func symlinkAt(_ target: String, _ path: String) -> Int32 {
  _ = system("mkdir -p \"$(dirname '\(path)')\"")
  return symlink(target, path)
}
