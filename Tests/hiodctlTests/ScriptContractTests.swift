// hiodctl tests — what scripts rely on beyond the goldens (issue 12): write errors, `-`,
// paths as bytes, -o onto links and modes, unreadable groups, the hints for hosts a
// script cannot fix, and the noise of thousands of devices.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import HostIOMMU
@testable import hiodctl

/// Scratch trees and raw runs of the binary.
enum Scratch {
  /// A new directory under /tmp that every user may enter (setpriv runs as nobody).
  static func directory(_ name: String = #function) throws -> String {
    let path = "/tmp/hiodctl-\(name.filter(\.isLetter))-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    chmod(path, 0o755)
    return path
  }

  /// Copies the fixture `name` (under Tests/Fixtures) to `destination`, links and modes kept.
  static func copy(fixture name: String, to destination: String) throws {
    let outcome = try shell("cp -a \"$1\" \"$2\"", Golden.testsDirectory + "/Fixtures/" + name, destination)
    #expect(outcome.status == 0, "cp: \(outcome.stderr)")
  }

  struct Outcome {
    var status: Int32
    var stdout: Data
    var stderr: Data
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
  }

  /// Runs `script` with /bin/sh, $0 the hiodctl binary and $1… `arguments`, in `directory`
  /// (Tests/Fixtures by default), with the goldens' pinned environment. Raw bytes: for
  /// arguments that are not UTF-8 (which Foundation's Process cannot pass), the script
  /// builds them with printf.
  static func shell(_ script: String, _ arguments: String..., directory: String? = nil) throws -> Outcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script, Golden.binary.path] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory ?? Golden.testsDirectory + "/Fixtures")
    process.environment = ["LC_ALL": "C", "PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "1795000000"]
    let captured = try Golden.capture(process)
    return Outcome(status: captured.status, stdout: captured.stdout, stderr: captured.stderr)
  }
}

// MARK: - 3, 4: `-` and write errors

struct StandardStreamTests {
  /// 3: `-o -` is standard output, not a file named "-".
  @Test func outputDashIsStandardOutput() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let snapshot = Golden.testsDirectory + "/Fixtures/snapshots/v1-intel-aw48.json"
    let outcome = try Golden.run(["--host", snapshot, "export", "--format", "nfd", "-o", "-"], directory: directory)
    #expect(outcome.status == 0)
    #expect(outcome.stdout.contains("hiodctl.feature.node.kubernetes.io/iommu.vendor=intel"))
    #expect(!FileManager.default.fileExists(atPath: directory + "/-"), "-o - wrote a file named '-'")
    let snapshotTaken = try Golden.run(
      ["--sysroot", Golden.testsDirectory + "/Fixtures/synthetic/noiommu-mode", "snapshot", "-o", "-"],
      directory: directory)
    #expect(snapshotTaken.status == 0 && snapshotTaken.stdout.contains("\"kind\" : \"hiodctl-snapshot\""))
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
  }

  /// 3: `--host -` reads the snapshot from standard input.
  @Test func hostDashIsStandardInput() throws {
    let outcome = try Golden.run(["--host", "-", "caps", "00:02.0"], stdin: "snapshots/v1-intel-aw39.json")
    #expect(outcome.status == 0, "\(outcome.stderr)")
    #expect(outcome.stdout.hasPrefix("== intel-aw39 (<stdin>)"))
  }

  /// 4: a full disk behind stdout is an error (3), not a silent success.
  @Test(arguments: [
    ["list"], ["--json", "list"], ["caps", "--backend", "sysfs", "00:02.0"], ["host"],
    ["export", "--format", "prometheus"],
  ])
  func writeErrorsOnStandardOutputExitThree(_ command: [String]) throws {
    let outcome = try Golden.run(["--sysroot", "synthetic/intel-host"] + command, stdout: "/dev/full")
    #expect(outcome.status == 3, "\(command): \(outcome.status)")
    #expect(outcome.stderr.contains("hiodctl: cannot write to standard output: No space left on device"))
  }

  /// 4: past a file-size limit the write fails with EFBIG, reported (not SIGXFSZ, and
  /// not an empty file with status 0).
  @Test func fileSizeLimitIsReported() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outcome = try Scratch.shell(
      "ulimit -f 1; \"$0\" --sysroot \"$1\" export --format prometheus > \"$2/metrics.prom\"",
      Golden.testsDirectory + "/Fixtures/synthetic/intel-host", directory)
    #expect(outcome.status == 3, "status \(outcome.status): \(outcome.stderrText)")
    #expect(outcome.stderrText.contains("cannot write to standard output: File too large"))
    let written = try FileManager.default.attributesOfItem(atPath: directory + "/metrics.prom")[.size] as? Int
    // sh counts ulimit -f in 512-byte blocks, bash in 1024-byte ones: what the limit
    // allowed, then the error.
    #expect(written.map { $0 > 0 && $0 <= 1024 } == true, "\(String(describing: written)) bytes written")
  }
}

// MARK: - 5: paths are bytes

struct PathBytesTests {
  @Test func decodingKeepsEveryByte() {
    let samples: [[UInt8]] = [
      Array("/tmp/plain".utf8), [0x2F, 0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x9F, 0x98, 0x80, 0xFF],
      [0xF4, 0x8F, 0xBF, 0xBF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], Array("é/ü".utf8) + [0x80],
    ]
    for bytes in samples {
      let decoded = PathBytes.decode(bytes)
      #expect(PathBytes.bytes(decoded) == bytes, "\(bytes) does not round-trip")
      PathBytes.withCString(decoded) { pointer in
        #expect(
          Array(
            UnsafeBufferPointer(
              start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: bytes.count)) == bytes)
        #expect(pointer[bytes.count] == 0)
      }
    }
    #expect(PathBytes.decode(Array("/sys/bus/pci".utf8)) == "/sys/bus/pci")
    #expect(PathBytes.displayed(PathBytes.decode([0x61, 0xFF])) == "a\\xff")
    #expect(PathBytes.jsonSafe(Array(PathBytes.decode([0x61, 0xFF]).utf8)) == [0x61, 0xEF, 0xBF, 0xBD])
  }

  @Test func randomBytesRoundTrip() {
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<2000 {
      let bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      #expect(PathBytes.bytes(PathBytes.decode(bytes)) == bytes)
    }
  }

  /// 5: a --sysroot and an -o that are not UTF-8 name exactly the files given.
  @Test func nonUTF8PathArgumentsAreUsedAsGiven() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let copy = try Scratch.shell(
      "cp -a \"$1\" \"$(printf '%s/tree\\377' \"$2\")\"",
      Golden.testsDirectory + "/Fixtures/synthetic/intel-host", directory)
    #expect(copy.status == 0)
    let listed = try Scratch.shell(
      "exec \"$0\" --sysroot \"$(printf '%s/tree\\377' \"$1\")\" list -s 01:00.0", directory)
    #expect(listed.status == 0, "\(listed.stderrText)")
    #expect(listed.stdoutText.contains("0000:01:00.0"))
    let exported = try Scratch.shell(
      """
      \"$0\" --sysroot \"$(printf '%s/tree\\377' \"$1\")\" export --format nfd -o \"$(printf '%s/out\\377' \"$1\")\" \
      && test -s \"$(printf '%s/out\\377' \"$1\")\" && ! test -e \"$(printf '%s/out\\357\\277\\275' \"$1\")\"
      """,
      directory)
    #expect(exported.status == 0, "\(exported.stderrText)")
    // A tree that is not there is named in the error by its own bytes.
    let missing = try Scratch.shell("exec \"$0\" --sysroot \"$(printf '%s/nope\\377' \"$1\")\" list", directory)
    #expect(missing.status == 3)
    #expect(missing.stderr.range(of: Data("nope".utf8) + Data([0xFF, 0x3A])) != nil, "\(missing.stderr)")
    // JSON stays UTF-8.
    let json = try Scratch.shell(
      "exec \"$0\" --json --sysroot \"$(printf '%s/tree\\377' \"$1\")\" list -s 01:00.0", directory)
    #expect(json.status == 0)
    #expect(String(data: json.stdout, encoding: .utf8)?.contains("tree\u{FFFD}") == true)
  }
}

// MARK: - 9: -o onto links and modes

struct OutputFileTests {
  @Test func outputWritesThroughSymlinksAndKeepsTheMode() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let manager = FileManager.default
    try manager.createDirectory(atPath: directory + "/real", withIntermediateDirectories: true)
    let target = directory + "/real/hiodctl.prom"
    manager.createFile(atPath: target, contents: Data("old\n".utf8), attributes: [.posixPermissions: 0o600])
    try manager.createSymbolicLink(atPath: directory + "/link", withDestinationPath: "real/hiodctl.prom")
    try manager.createSymbolicLink(atPath: directory + "/link2", withDestinationPath: directory + "/link")
    let outcome = try Golden.run(
      ["--sysroot", "synthetic/intel-host", "export", "--format", "prometheus", "-o", directory + "/link2"])
    #expect(outcome.status == 0, "\(outcome.stderr)")
    #expect(try manager.destinationOfSymbolicLink(atPath: directory + "/link") == "real/hiodctl.prom")
    #expect(try manager.destinationOfSymbolicLink(atPath: directory + "/link2") == directory + "/link")
    let attributes = try manager.attributesOfItem(atPath: target)
    #expect(
      (attributes[.posixPermissions] as? Int) == 0o600, "mode \(String(describing: attributes[.posixPermissions]))")
    #expect(try String(contentsOfFile: target, encoding: .utf8).hasPrefix("# HELP hiod_info"))
    // A group-writable file stays so whatever the umask (022 here).
    chmod(target, 0o664)
    let again = try Scratch.shell(
      "umask 077; exec \"$0\" --sysroot synthetic/intel-host export --format nfd -o \"$1\"", target)
    #expect(again.status == 0)
    #expect((try manager.attributesOfItem(atPath: target)[.posixPermissions] as? Int) == 0o664)
    // A dangling link gets its target created.
    try manager.createSymbolicLink(atPath: directory + "/dangling", withDestinationPath: "real/new.prom")
    let created = try Golden.run(
      ["--sysroot", "synthetic/intel-host", "export", "--format", "nfd", "-o", directory + "/dangling"])
    #expect(created.status == 0)
    #expect(manager.fileExists(atPath: directory + "/real/new.prom"))
    #expect((try? manager.destinationOfSymbolicLink(atPath: directory + "/dangling")) == "real/new.prom")
  }
}

// MARK: - 14: unreadable groups

@Suite(
  .enabled(
    if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
struct UnreadableGroupsTests {
  @Test func unreadableGroupsAreSaidAndNotTakenForNoIOMMU() throws {
    let directory = try Scratch.directory()
    defer {
      chmod(directory + "/tree/sys/kernel/iommu_groups", 0o755)
      try? FileManager.default.removeItem(atPath: directory)
    }
    try Scratch.copy(fixture: "synthetic/intel-host", to: directory + "/tree")
    chmod(directory + "/tree/sys/kernel/iommu_groups", 0o000)
    let root = directory + "/tree"

    let list = try Golden.run(["--sysroot", root, "list"], asUser: "nobody")
    #expect(list.status == 3, "list: \(list.status)")
    #expect(list.stdout.contains("cannot read /sys/kernel/iommu_groups: Permission denied"))
    #expect(list.stderr.contains("Permission denied"))
    #expect(!list.stdout.contains("DMA remapping is off") && !list.stdout.contains("intel_iommu=off"))

    let host = try Golden.run(["--sysroot", root, "host"], asUser: "nobody")
    #expect(host.status == 2, "host: \(host.status)")
    #expect(host.stdout.contains("Permission denied") && !host.stdout.contains("DMA remapping is off"))

    // The device's group is unknown, not missing: undetermined (2), not INCOMPATIBLE
    // with "enable the IOMMU".
    let check = try Golden.run(
      ["--sysroot", root, "check", "--viommu", "intel", "--aw-bits", "39", "--backend", "sysfs", "00:02.0"],
      asUser: "nobody")
    #expect(check.status == 2, "check: \(check.status)")
    #expect(check.stdout.contains("cannot read /sys/kernel/iommu_groups: Permission denied"), "\(check.stdout)")
    #expect(!check.stdout.contains("no iommu_group found") && !check.stdout.contains("not behind an enabled IOMMU"))
    #expect(!check.stdout.contains("INCOMPATIBLE") && !check.stdout.contains("enable the IOMMU"), "\(check.stdout)")
    let caps = try Golden.run(["--sysroot", root, "caps", "--backend", "sysfs", "00:02.0"], asUser: "nobody")
    #expect(caps.status == 2, "caps: \(caps.status)")
    #expect(caps.stdout.contains("cannot read /sys/kernel/iommu_groups: Permission denied"), "\(caps.stdout)")
    #expect(
      !caps.stdout.contains("not behind an enabled IOMMU") && !caps.stdout.contains("enable the IOMMU"),
      "\(caps.stdout)")

    // The exports say unknown, never "no IOMMU".
    let nfd = try Golden.run(["--sysroot", root, "export", "--format", "nfd"], asUser: "nobody")
    #expect(nfd.stdout.contains("/iommu.enabled=unknown"), "\(nfd.stdout)")
    #expect(!nfd.stdout.contains("/iommu.enabled=false") && !nfd.stdout.contains("/iommu.groups="), "\(nfd.stdout)")
    let prometheus = try Golden.run(["--sysroot", root, "export", "--format", "prometheus"], asUser: "nobody")
    #expect(prometheus.stdout.contains("hiod_info"))
    #expect(
      !prometheus.stdout.contains("hiod_iommu_enabled") && !prometheus.stdout.contains("hiod_iommu_groups "),
      "\(prometheus.stdout)")
    let ansible = try Golden.run(["--sysroot", root, "export", "--format", "ansible"], asUser: "nobody")
    let iommu =
      (try JSONSerialization.jsonObject(with: Data(ansible.stdout.utf8)) as? [String: Any])?["iommu"] as? [String: Any]
    #expect(iommu?["enabled"] is NSNull && iommu?["groups"] is NSNull, "\(String(describing: iommu))")
  }
}

// MARK: - 11, 15: hints for what the host uses, and for virtual machines

struct HostAwareHintTests {
  /// 11: a bridge in a VFIO device's group is not offered for rebinding; the NIC of the
  /// default route and a mounted disk's controller are named as what they are.
  @Test func bridgesAndDevicesInUseAreNotOfferedForRebinding() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let root = directory + "/tree"
    try Scratch.copy(fixture: "synthetic/intel-host", to: root)
    let manager = FileManager.default
    // 00:1f.3 on vfio-pci: group 5 then holds a VFIO device and the ISA bridge 00:1f.0.
    try manager.removeItem(atPath: root + "/sys/devices/pci0000:00/0000:00:1f.3/driver")
    try manager.createSymbolicLink(
      atPath: root + "/sys/devices/pci0000:00/0000:00:1f.3/driver",
      withDestinationPath: "../../../bus/pci/drivers/vfio-pci")
    // 00:04.1 carries the default route; 00:03.0 controls the root file system.
    try manager.createDirectory(atPath: root + "/proc/net", withIntermediateDirectories: true)
    try """
    Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
    eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n
    """.write(toFile: root + "/proc/net/route", atomically: true, encoding: .utf8)
    try manager.createDirectory(atPath: root + "/sys/class/net/eth0", withIntermediateDirectories: true)
    try manager.createSymbolicLink(
      atPath: root + "/sys/class/net/eth0/device", withDestinationPath: "../../../devices/pci0000:00/0000:00:04.1")
    try manager.createDirectory(atPath: root + "/proc/self", withIntermediateDirectories: true)
    try "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      .write(toFile: root + "/proc/self/mountinfo", atomically: true, encoding: .utf8)
    try manager.createDirectory(atPath: root + "/sys/dev/block", withIntermediateDirectories: true)
    try manager.createSymbolicLink(
      atPath: root + "/sys/dev/block/8:1",
      withDestinationPath: "../../devices/pci0000:00/0000:00:03.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1")

    let list = try Golden.run(["--sysroot", root, "list"])
    #expect(list.status == 0)
    #expect(list.stdout.contains("group 5 is not viable"))
    #expect(list.stdout.contains("0000:00:1f.0 is an ISA bridge (lpc_ich): the host needs it; do not rebind it"))
    #expect(!list.stdout.contains("driverctl set-override 0000:00:1f.0"), "\(list.stdout)")
    #expect(
      list.stdout.contains(
        "0000:00:04.1 carries the default route (eth0): rebinding it to vfio-pci takes that away from the host"))

    let json = try Golden.run(["--sysroot", root, "--json", "list"])
    let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    let uses = (object?["host"] as? [String: Any])?["devices_in_use"] as? [[String: String]]
    #expect(
      uses?.contains(["bdf": "0000:00:03.0", "use": "controls /dev/sda1, mounted on /"]) == true,
      "\(String(describing: uses))")
    #expect(uses?.contains(["bdf": "0000:00:04.1", "use": "carries the default route (eth0)"]) == true)

    // caps and check give the same advice in the same words, text and JSON (caps wraps
    // at 100 columns: compare the words).
    let bridge = "0000:00:1f.0 is an ISA bridge (lpc_ich): the host needs it; do not rebind it"
    let route = "0000:00:04.1 carries the default route (eth0): rebinding it to vfio-pci takes that away from the host"
    let caps = try Golden.run(["--sysroot", root, "caps", "00:1f.3", "00:04.0"])
    let check = try Golden.run([
      "--sysroot", root, "check", "--viommu", "intel", "--backend", "sysfs", "00:1f.3", "00:04.0",
    ])
    for (name, outcome) in [("caps", caps), ("check", check)] {
      let words = outcome.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
      #expect(words.contains(bridge), "\(name): \(outcome.stdout)")
      #expect(words.contains(route), "\(name): \(outcome.stdout)")
      #expect(!words.contains("driverctl set-override 0000:00:1f.0"), "\(name) offers the ISA bridge for rebinding")
    }
    func document(_ outcome: Golden.Outcome) throws -> [String: Any] {
      try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
    }
    let capsJSON = try document(try Golden.run(["--sysroot", root, "--json", "caps", "00:1f.3", "00:04.0"]))
    let capsHints = (capsJSON["devices"] as? [[String: Any]] ?? []).map { (device: [String: Any]) -> String in
      let attempts = device["attempts"] as? [[String: Any]] ?? []
      let hints = attempts.flatMap { (attempt: [String: Any]) -> [String] in
        (attempt["failure"] as? [String: Any])?["hints"] as? [String] ?? []
      }
      return hints.joined(separator: "\n")
    }
    #expect(capsHints.count == 2)
    #expect(
      capsHints.first?.contains(bridge) == true && capsHints.first?.contains("set-override 0000:00:1f.0") == false,
      "\(capsHints)")
    #expect(capsHints.last?.contains(route) == true, "\(capsHints)")
    let checkJSON = try document(
      try Golden.run([
        "--sysroot", root, "--json", "check", "--viommu", "intel", "--backend", "sysfs", "00:1f.3", "00:04.0",
      ]))
    let remedies = (checkJSON["devices"] as? [[String: Any]] ?? []).map { (device: [String: Any]) -> [String: String] in
      let findings = device["findings"] as? [[String: Any]] ?? []
      let viable = findings.first { $0["check"] as? String == "vfio.group-viable" }
      return (viable?["remedy"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
    }
    #expect(remedies.count == 2)
    let bridgeHost = remedies.first?["host"] ?? ""
    #expect(bridgeHost.contains(bridge) && !bridgeHost.contains("set-override 0000:00:1f.0"), "\(remedies)")
    #expect(remedies.first?["summary"]?.contains("bind every device") == false, "\(remedies)")
    #expect(remedies.last?["host"]?.contains(route) == true, "\(remedies)")
  }

  /// 11: thousands of non-viable groups without a VFIO device are one line.
  @Test func nonViableGroupsWithoutVFIODevicesAreCountedNotExplained() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let generate = try Scratch.shell(
      "python3 \"$1\" sriov \"$2\" --devices 512 > /dev/null", Golden.testsDirectory + "/Fixtures/synthesize.py",
      directory + "/tree")
    #expect(generate.status == 0)
    let list = try Golden.run(["--sysroot", directory + "/tree", "list"])
    #expect(list.status == 0)
    let json =
      try JSONSerialization.jsonObject(
        with: Data(try Golden.run(["--sysroot", directory + "/tree", "--json", "list"]).stdout.utf8)) as? [String: Any]
    let groups = json?["groups"] as? [[String: Any]] ?? []
    let devices = Dictionary(
      uniqueKeysWithValues: (json?["devices"] as? [[String: Any]] ?? []).map {
        ($0["bdf"] as? String ?? "", $0["vfio_bound"] as? Bool ?? false)
      })
    let nonViable = groups.filter { $0["viable"] as? Bool == false }
    let withVFIO = nonViable.filter { group in (group["devices"] as? [String] ?? []).contains { devices[$0] == true } }
    #expect(nonViable.count > withVFIO.count && !withVFIO.isEmpty, "the tree must have both kinds")
    let paragraphs = list.stdout.components(separatedBy: "\ngroup ").count - 1
    #expect(paragraphs == withVFIO.count, "\(paragraphs) paragraphs for \(withVFIO.count) groups with a VFIO device")
    #expect(
      list.stdout.contains(
        "\(nonViable.count - withVFIO.count) more groups are not viable, none with a device bound to a VFIO driver"))
  }

  /// 15: inside a virtual machine without an IOMMU the fix is the hypervisor's vIOMMU,
  /// and list, host and caps say it in the same words.
  @Test func aVirtualMachineIsToldToGetAVIOMMU() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let root = directory + "/tree"
    try Scratch.copy(fixture: "captured/no-iommu", to: root)
    try "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse hypervisor lahf_lm\n"
      .write(toFile: root + "/proc/cpuinfo", atomically: true, encoding: .utf8)
    let list = try Golden.run(["--sysroot", root, "list"])
    let host = try Golden.run(["--sysroot", root, "host"])
    let caps = try Golden.run(["--sysroot", root, "caps", "00:02.0"])
    let check = try Golden.run(["--sysroot", root, "check", "--viommu", "intel", "00:02.0"])
    let fix = "this is a virtual machine (the CPU reports a hypervisor): its hypervisor must give it a vIOMMU"
    for (name, outcome) in [("list", list), ("host", host), ("caps", caps), ("check", check)] {
      // caps wraps at 100 columns: compare the words.
      let words = outcome.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
      #expect(words.contains(fix), "\(name): \(outcome.stdout)")
      #expect(!outcome.stdout.contains("firmware setup"), "\(name) sends a VM to its firmware")
    }
    #expect(host.status == 1)
    #expect(check.status == 1 && !check.stdout.contains("AMD-Vi in the firmware"), "\(check.stdout)")
    // The JSON remedy is the same fix.
    let json = try Golden.run(["--sysroot", root, "--json", "check", "--viommu", "intel", "00:02.0"])
    let findings =
      ((try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["devices"]
      as? [[String: Any]])?.first?["findings"] as? [[String: Any]] ?? []
    let remedy = findings.first { $0["check"] as? String == "vfio.iommu-group" }?["remedy"] as? [String: Any]
    #expect((remedy?["host"] as? String)?.contains(fix) == true, "\(findings)")
  }

  /// 15b: a snapshot records no QEMU; nothing looked for one on "this host".
  @Test func snapshotsDoNotClaimTheHostHasNoQEMU() throws {
    let check = try Golden.run(["--host", "snapshots/v1-intel-aw39.json", "check", "--viommu", "intel", "--all"])
    #expect(!check.stdout.contains("no QEMU is installed"), "\(check.stdout)")
    #expect(check.stdout.contains("the snapshot does not record which QEMU the host runs (--qemu names one)"))
    let pool = try Golden.run(
      [
        "--host", "snapshots/v1-intel-aw39.json", "--host", "snapshots/v1-intel-aw48.json", "check", "--viommu",
        "intel", "--all",
      ])
    #expect(
      pool.stdout.contains("the snapshots do not record which QEMU the hosts run (--qemu names one)"), "\(pool.stdout)")
  }
}

// MARK: - 1, 17: a pool's JSON status is its exit status

struct PoolStatusTests {
  /// The pool document's `status` is the answer the exit status gives (the suggested
  /// configuration's over every host with --suggest), and `suggestion.status` is there
  /// as in the single-host document.
  @Test(arguments: [
    ["--viommu", "intel", "--suggest", "--all"], ["--viommu", "intel", "--all"],
    ["--viommu", "intel", "--aw-bits", "39", "--all"],
    ["--viommu", "intel", "--x-scalable-mode", "on", "--x-flts", "--suggest", "--all"],
  ])
  func poolStatusAgreesWithTheExitStatus(_ options: [String]) throws {
    let outcome = try Golden.run(
      ["--json", "check", "--host", "snapshots/v1-intel-aw39.json", "--host", "snapshots/v1-intel-aw48.json"] + options)
    let document = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
    let byExit: [Int32: String] = [0: "pass", 1: "fail", 2: "undetermined"]
    #expect(
      document?["status"] as? String == byExit[outcome.status],
      "status \(String(describing: document?["status"])), exit \(outcome.status)")
    if options.contains("--suggest") {
      let suggestion = document?["suggestion"] as? [String: Any]
      #expect(
        suggestion?["status"] as? String == byExit[outcome.status], "\(String(describing: suggestion?["status"]))")
    }
  }
}

// MARK: - 12: thousands of devices

struct LargeCheckOutputTests {
  @Test func repeatedReasonsArePrintedOnceWithASummary() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let generate = try Scratch.shell(
      "python3 \"$1\" sriov \"$2\" --devices 128 > /dev/null", Golden.testsDirectory + "/Fixtures/synthesize.py",
      directory + "/tree")
    #expect(generate.status == 0)
    let check = try Golden.run(["--sysroot", directory + "/tree", "check", "--viommu", "intel", "--all"])
    #expect(check.status == 2)
    let devices = check.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("0000:") }.count
    #expect(devices > 20)
    #expect(
      check.stdout.components(separatedBy: "fix: let hiodctl ask the kernel").count - 1 == 1,
      "the same reason printed more than once")
    #expect(check.stdout.components(separatedBy: "(as for 0000:").count - 1 == devices - 1)
    #expect(
      check.stdout.hasSuffix("summary: \(devices) checked: 0 compatible, 0 incompatible, \(devices) undetermined\n"))
    let quiet = try Golden.run(["--sysroot", directory + "/tree", "check", "--viommu", "intel", "--all", "-q"])
    #expect(quiet.status == check.status)
    #expect(quiet.stdout.components(separatedBy: "\n").filter { !$0.isEmpty }.count == devices + 2)
  }
}

// MARK: - 13: caps within 100 columns

struct CapsWidthTests {
  static let inputs: [[String]] = [
    [
      "--sysroot", "synthetic/intel-host", "caps", "--backend", "sysfs", "00:02.0", "00:04.0", "01:00.0",
      "10000:00:02.0",
    ],
    ["--sysroot", "synthetic/intel-host", "caps", "00:02.0", "00:03.0"],
    ["--sysroot", "captured/intel-sm", "caps", "--backend", "sysfs", "00:02.0"],
    ["--sysroot", "captured/amd", "caps", "--backend", "sysfs", "00:03.0"],
    ["--sysroot", "captured/virtio", "caps", "00:02.0"],
    ["--host", "snapshots/v1-intel-aw39.json", "caps", "--backend", "iommufd", "00:02.0"],
    ["--host", "snapshots/v1-intel-aw48.json", "caps", "--backend", "legacy", "00:02.0"],
    ["--host", "snapshots/v1-intel-aw48.json", "caps", "--backend", "sysfs", "00:02.0"],
  ]

  @Test(arguments: inputs)
  func capsFitsIn100Columns(_ arguments: [String]) throws {
    let outcome = try Golden.run(arguments)
    #expect(!outcome.stdout.isEmpty)
    for line in outcome.stdout.split(separator: "\n") {
      #expect(line.unicodeScalars.count <= 100, "\(line.unicodeScalars.count) columns: \(line)")
    }
  }
}

// MARK: - 7: every failure with --json is a JSON document

struct JSONErrorDocumentTests {
  static let failures: [[String]] = [
    ["--json", "--jsn", "list"], ["--json", "lst"], ["--json"], ["--json", "--sysroot", "does-not-exist", "list"],
    ["--json", "--host", "snapshots/no-such.json", "list"],
    ["--json", "--sysroot", "synthetic/intel-host", "caps", "0000:05:00.0"],
    ["--json", "--sysroot", "synthetic/intel-host", "caps", "00:1f.8"], ["--json", "check", "--viommu", "intel"],
    ["--json", "--sysroot", "captured/no-iommu", "check", "--viommu", "intel", "--all"],
    ["--json", "check", "--domain", "domains-bad/malformed.xml"], ["--json", "export", "--format", "prometheus"],
    ["--json", "--host", "snapshots-bad/too-new.json", "host"],
  ]

  @Test(arguments: failures)
  func failuresPrintAnErrorDocument(_ arguments: [String]) throws {
    let outcome = try Golden.run(arguments)
    #expect(outcome.status == 3 || outcome.status == 64, "\(arguments): \(outcome.status)")
    let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
    #expect(object?["schema_version"] as? Int == 1)
    let error = object?["error"] as? [String: Any]
    #expect(error?["exit_status"] as? Int == Int(outcome.status))
    #expect((error?["message"] as? String).map { outcome.stderr.contains($0) } == true)
    #expect(error?["hints"] is [String])
  }
}

// MARK: - 10: values refused with a reason

struct ValueValidationTests {
  @Test func sourceDateEpochIsATimeOrRefused() throws {
    try SnapshotMetadata.validateSourceDateEpoch(nil)
    try SnapshotMetadata.validateSourceDateEpoch("0")
    try SnapshotMetadata.validateSourceDateEpoch("1795000000")
    try SnapshotMetadata.validateSourceDateEpoch("253402300799")
    for bad in ["253402300800", "99999999999999999", "-1", "", "1e9", " 5", "+5", "0x10"] {
      #expect(throws: HIODError.self, "\(bad)") { try SnapshotMetadata.validateSourceDateEpoch(bad) }
    }
  }

  @Test(arguments: ["0000:00:1f.8", "00:20.0", "0000:00:2.0", "000:00:02.0", "0000:0g:00.0", "00:02", "0000:00:02.x"])
  func invalidBDFsSayWhy(_ text: String) {
    #expect(PCIAddress(text) == nil)
    let problem = BDFSyntax.problem(text)
    #expect(problem != "not a PCI address", "\(text): no reason")
  }
}

// MARK: - host: the readiness checks

struct HostReadinessTests {
  static func inventory(_ facts: HostFacts, devices: [PCIDevice] = [], groups: [IOMMUGroup] = []) -> HostInventory {
    HostInventory(sysroot: "/t", facts: facts, devices: devices, groups: groups, diagnoses: [], warnings: [])
  }

  static let intelUnit = IOMMUUnit(name: "dmar0", vendor: .intel)

  static func facts(_ change: (inout HostFacts) -> Void) -> HostFacts {
    var facts = HostFacts(
      iommuUnits: [intelUnit], iommuGroupCount: 3,
      vfioContainer: DeviceNode(path: "/dev/vfio/vfio", present: true),
      iommufd: DeviceNode(path: "/dev/iommu", present: true),
      interruptRemapping: .enabled, unsafeInterrupts: UnsafeInterruptsPolicy(vfioType1: false, iommufd: false),
      cpuVendor: .intel, kernelCommandLine: "quiet intel_iommu=on",
      modules: ["vfio": true, "vfio_pci": true, "vfio_iommu_type1": true, "iommufd": true], noIOMMUMode: false)
    change(&facts)
    return facts
  }

  static func check(_ id: String, _ facts: HostFacts) -> ReadinessCheck? {
    HostReadiness.evaluate(inventory(facts)).checks.first { $0.id == id }
  }

  @Test func aReadyHostPassesEverything() {
    let readiness = HostReadiness.evaluate(Self.inventory(Self.facts { _ in }))
    #expect(readiness.checks.allSatisfy { $0.status == .pass }, "\(readiness.checks.filter { $0.status != .pass })")
    #expect(readiness.exitStatus == .success && readiness.diagnoses.isEmpty)
    #expect(
      readiness.checks.map(\.id) == [
        "iommu", "dma-remapping", "interrupt-remapping", "unsafe-interrupts", "noiommu", "module-vfio",
        "module-vfio-pci",
        "module-vfio-iommu-type1", "module-iommufd", "dev-vfio", "dev-iommu", "cmdline", "acs",
      ])
  }

  @Test func interruptRemapping() {
    #expect(Self.check("interrupt-remapping", Self.facts { $0.interruptRemapping = .disabled })?.status == .fail)
    let bypassed = Self.facts {
      $0.interruptRemapping = .disabled
      $0.unsafeInterrupts.vfioType1 = true
    }
    #expect(Self.check("interrupt-remapping", bypassed)?.status == .warn)
    #expect(Self.check("unsafe-interrupts", bypassed)?.code == "unsafe-interrupts-allowed")
    let unknown = Self.check("interrupt-remapping", Self.facts { $0.interruptRemapping = .unknown })
    #expect(unknown?.status == .warn && unknown?.determined == false)
    #expect(
      HostReadiness.evaluate(Self.inventory(Self.facts { $0.interruptRemapping = .unknown })).exitStatus
        == .undetermined)
    let virtio = Self.check(
      "interrupt-remapping",
      Self.facts {
        $0.iommuUnits = [IOMMUUnit(name: "0000:00:05.0", vendor: .virtio)]
        $0.interruptRemapping = .disabled
      })
    #expect(virtio?.message.contains("virtio-iommu does not isolate MSIs") == true)
  }

  @Test func commandLine() {
    for (line, status) in [
      ("quiet intel_iommu=off", ReadinessStatus.fail), ("iommu=off", .fail), ("intel_iommu=on,sm_on", .pass),
      ("intel_iommu=on intremap=off", .warn), ("pcie_acs_override=downstream,multifunction", .warn),
      ("amd_iommu=off", .pass),  // an Intel host: AMD's switch changes nothing
      ("iommu=pt", .pass),
    ] {
      #expect(Self.check("cmdline", Self.facts { $0.kernelCommandLine = line })?.status == status, "\(line)")
    }
    #expect(Self.check("cmdline", Self.facts { $0.kernelCommandLine = nil })?.determined == false)
  }

  @Test func modulesAndNodes() {
    let noVFIOPCI = Self.facts { $0.modules?["vfio_pci"] = false }
    #expect(Self.check("module-vfio-pci", noVFIOPCI)?.status == .warn)
    #expect(Self.check("module-vfio-pci", noVFIOPCI)?.fix?.contains("modprobe vfio-pci") == true)
    let neither = Self.facts {
      $0.vfioContainer.present = false
      $0.iommufd.present = false
    }
    #expect(Self.check("dev-vfio", neither)?.status == .fail)
    #expect(Self.check("dev-iommu", Self.facts { $0.iommufd.present = false })?.status == .warn)
    let unrecorded = Self.facts { $0.environmentRecorded = false }
    #expect(Self.check("module-vfio", unrecorded)?.determined == false)
  }

  @Test func noIOMMUIsOneDiagnosis() {
    let none = Self.facts {
      $0.iommuUnits = []
      $0.iommuGroupCount = 0
      $0.interruptRemapping = .disabled
    }
    let readiness = HostReadiness.evaluate(Self.inventory(none))
    #expect(readiness.diagnoses.map(\.code) == ["iommu-disabled"])
    #expect(readiness.exitStatus == .incompatible)
    let unitsOnly = Self.facts { $0.iommuGroupCount = 0 }
    #expect(HostReadiness.evaluate(Self.inventory(unitsOnly)).diagnoses.map(\.code) == ["dma-remapping-disabled"])
    let unreadable = Self.facts {
      $0.iommuGroupCount = 0
      $0.iommuGroupsError = "Permission denied"
    }
    let told = HostReadiness.evaluate(Self.inventory(unreadable))
    #expect(told.diagnoses.map(\.code) == ["iommu-groups-unreadable"])
    #expect(told.exitStatus == .undetermined)
  }

  /// ACS from a port's config space: the capability and its controls.
  @Test func acsIsReadFromTheExtendedConfigSpace() throws {
    let directory = try Scratch.directory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    func port(_ name: String, acsControl: UInt16?, size: Int = 4096) throws {
      // What an unprivileged reader gets is the first 64 bytes of the same space.
      var config = [UInt8](repeating: 0, count: 4096)
      config[0x06] = 0x10  // a capability list
      config[0x0E] = 0x01  // a bridge header
      config[0x34] = 0x40
      config[0x40] = 0x10  // PCI Express, a root port
      config[0x42] = 0x42
      if let acsControl {
        config[0x100] = 0x0D  // ACS, the last extended capability
        config[0x104] = 0x1F  // SV TB RR CR UF implemented
        config[0x106] = UInt8(acsControl & 0xFF)
      }
      let path = directory + "/sys/bus/pci/devices/\(name)"
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
      FileManager.default.createFile(atPath: path + "/config", contents: Data(config.prefix(size)))
    }
    try port("0000:00:1c.0", acsControl: 0x1D)
    try port("0000:00:1c.1", acsControl: 0x01)
    try port("0000:00:1c.2", acsControl: nil)
    try port("0000:00:1c.3", acsControl: 0x1D, size: 64)
    let root = try SystemRoot(validating: directory)
    let acs = { (name: String) in HostFacts.readACS(root, port: PCIAddress(name)!) }
    #expect(acs("0000:00:1c.0").state == .enabled && acs("0000:00:1c.0").type == .rootPort)
    #expect(acs("0000:00:1c.0").enabled == ["SV", "RR", "CR", "UF"])
    #expect(acs("0000:00:1c.1").state == .disabled && acs("0000:00:1c.1").missing == ["RR", "CR", "UF"])
    #expect(acs("0000:00:1c.2").state == .absent)
    #expect(acs("0000:00:1c.3").state == .unknown)
  }
}
