// hiodctl tests — which QEMU: the package database first, a trusted binary's --version
// next, never an untrusted program.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import HostIOMMU

struct HostQEMUTests {
  @Test(arguments: [
    ("1:10.0.13+ds-0+deb13u1", "10.0"), ("1:7.2+dfsg-7+deb12u18+b3", "7.2"), ("11.1.3", "11.1"),
    ("9.2.0-1ubuntu1", "9.2"),
  ])
  func debianVersions(_ text: String, _ release: String) {
    #expect(HostQEMUDetector.debianRelease(text)?.description == release)
  }

  @Test func aScriptInTmpIsNotTrusted() throws {
    let script = FileManager.default.temporaryDirectory.appendingPathComponent("hiodctl-qemu-\(getpid())").path
    try "#!/bin/sh\necho 'QEMU emulator version 10.0.0'\n".write(toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    defer { unlink(script) }
    #expect(HostQEMUDetector.isTrusted(script) == nil)
    #expect(HostQEMUDetector.release(ofProgram: script, root: .host) == nil)
  }

  @Test func theSystemsQEMUComesFromThePackageDatabase() throws {
    // Debian's qemu-system-x86 (the VM rig installs it): dpkg owns the path.
    guard FileManager.default.fileExists(atPath: "/usr/bin/qemu-system-x86_64"),
      let installed = HostQEMUDetector.installedVersion(of: "qemu-system-x86", root: .host)
    else { return }
    let found = try #require(HostQEMUDetector.release(ofProgram: "/usr/bin/qemu-system-x86_64", root: .host))
    #expect(found.source.hasPrefix("dpkg: /usr/bin/qemu-system-x86_64 belongs to qemu-system-x86"))
    #expect(found.fullVersion == installed)
    #expect(HostQEMUDetector.detect(root: .host)?.version == found.version)
    // A trusted binary answers --version too (root-owned, in /usr/bin).
    #expect(HostQEMUDetector.runVersion("/usr/bin/qemu-system-x86_64")?.version == found.version)
  }

  @Test func aTreeWithoutADpkgDatabaseHasNoQEMU() throws {
    #expect(HostQEMUDetector.detect(root: try Fixtures.root("captured/intel-aw39")) == nil)
  }

  /// The `--version` runner: the program's standard output, nil past the time limit (the
  /// program killed), and no descriptor left open. Other tests open files in this process
  /// at the same time, so a leak shows as growth with the number of runs, not as one.
  @Test func programOutputTimeLimitAndNoLeftoverDescriptor() throws {
    func openDescriptors() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count }
    #expect(Syscall.output(of: ["/bin/sh", "-c", "echo QEMU; echo err >&2"], timeoutSeconds: 5) == "QEMU\n")
    let start = time(nil)
    #expect(Syscall.output(of: ["/bin/sh", "-c", "exec sleep 30"], timeoutSeconds: 1) == nil)
    #expect(time(nil) - start < 10, "the time limit held")
    let before = try openDescriptors()
    for _ in 0..<32 {
      #expect(Syscall.output(of: ["/nonexistent/qemu"], timeoutSeconds: 1) == nil)
      _ = Syscall.output(of: ["/bin/true"], timeoutSeconds: 5)
    }
    let after = try openDescriptors()
    #expect(after - before < 16, "\(after - before) more descriptors after 64 runs")
  }
}
