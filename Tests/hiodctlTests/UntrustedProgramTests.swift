// hiodctl tests — a domain or a command line may come from someone else, and hiodctl
// runs as root: it never executes the program the input names (<emulator>, argv[0])
// unless that is a root-owned binary in a system directory. A script in /tmp that would
// leave a marker is named both ways; the marker must never appear.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

struct UntrustedProgramTests {
  /// A script that leaves `marker` when run, and its directory: a new directory for
  /// each call, since the tests run at once in one process (a directory named by the pid
  /// alone was removed by one test while the other was writing into it).
  static func trap() throws -> (script: String, marker: String, directory: String) {
    let pattern = FileManager.default.temporaryDirectory.appendingPathComponent("hiodctl-trap-XXXXXX").path
    var template = Array(pattern.utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    let directory = String(cString: made)
    let script = directory + "/qemu-system-x86_64"
    let marker = directory + "/ran"
    try "#!/bin/sh\ntouch \(marker)\necho 'QEMU emulator version 10.0.0'\n".write(
      toFile: script, atomically: true, encoding: .utf8)
    chmod(script, 0o755)
    return (script, marker, directory)
  }

  @Test func neverRunsTheDomainsEmulator() throws {
    let (script, marker, directory) = try Self.trap()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let domain = directory + "/vm.xml"
    try """
    <domain type='kvm'><name>x</name><os><type machine='q35'>hvm</type></os><devices>
    <emulator>\(script)</emulator>
    <hostdev mode='subsystem' type='pci'><source>\
    <address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></source></hostdev>
    </devices></domain>
    """.write(toFile: domain, atomically: true, encoding: .utf8)
    // The live host: the only place hiodctl would ever run a program.
    let outcome = try Golden.run(["check", "--domain", domain])
    #expect(!FileManager.default.fileExists(atPath: marker), "hiodctl ran the domain's <emulator>")
    #expect(outcome.status != 0 || outcome.stdout.contains("was not run") || outcome.stderr.contains("no PCI device"))
  }

  @Test func neverRunsTheCommandLinesProgram() throws {
    let (script, marker, directory) = try Self.trap()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    _ = try Golden.run(["check", "--", script, "-M", "q35", "-device", "vfio-pci,host=0000:00:03.0"])
    _ = try Golden.run(["check", "--", "\(script) -M q35 -device vfio-pci,host=0000:00:03.0"])
    #expect(!FileManager.default.fileExists(atPath: marker), "hiodctl ran the command line's program")
  }

}
