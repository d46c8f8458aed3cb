// hiodctl tests — the built binary on hostile and broken trees, and while the tree
// changes under it: every run ends with a documented exit status, stderr holds only
// `hiodctl:` messages and hints (never a Swift crash or backtrace), and JSON stays JSON.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

struct HostileTreeBinaryTests {
  /// A damage, as shell run in a copy of `synthetic/intel-host` at `$T`.
  struct Damage: CustomTestStringConvertible, Sendable {
    let name: String
    let script: String
    /// Exit status of `list` (the scan either answers or, for what stops libpci, fails).
    var listStatus: Int32 = 0

    var testDescription: String { name }
  }

  static let dev = "$(readlink -f \"$T/sys/bus/pci/devices/0000:00:03.0\")"

  static let damages: [Damage] = [
    Damage(
      name: "device entry loops",
      script: """
        rm "$T/sys/bus/pci/devices/0000:00:05.0"; ln -s 0000:00:05.0 "$T/sys/bus/pci/devices/0000:00:05.0"
        """),
    Damage(
      name: "device vanished after readdir",
      script: """
        rm "$T/sys/bus/pci/devices/0000:00:03.0"; ln -s ../../../devices/gone "$T/sys/bus/pci/devices/0000:00:03.0"
        """),
    Damage(
      name: "group link loops",
      script: """
        d=\(dev); rm "$d/iommu_group"; ln -s iommu_group "$d/iommu_group"
        """),
    Damage(
      name: "driver link loops",
      script: """
        d=\(dev); rm "$d/driver"; ln -s driver "$d/driver"
        """),
    Damage(
      name: "group directory loops",
      script: """
        rm -rf "$T/sys/kernel/iommu_groups/1"; ln -s 1 "$T/sys/kernel/iommu_groups/1"
        """),
    Damage(
      name: "iommu unit loops",
      script: """
        rm -rf "$T/sys/class/iommu/dmar0"; ln -s dmar0 "$T/sys/class/iommu/dmar0"
        """),
    Damage(
      name: "huge reserved_regions",
      script: """
        head -c 1048576 /dev/zero | tr '\\0' 'x' > "$T/sys/kernel/iommu_groups/1/reserved_regions"
        """),
    Damage(
      name: "huge cpuinfo",
      script: """
        head -c 4194304 /dev/zero | tr '\\0' 'y' > "$T/proc/cpuinfo"
        """),
    Damage(
      name: "directory instead of file",
      script: """
        rm "$T/sys/kernel/iommu_groups/1/type"; mkdir "$T/sys/kernel/iommu_groups/1/type"
        """),
    Damage(
      name: "FIFO instead of file",
      script: """
        rm "$T/sys/kernel/iommu_groups/1/reserved_regions"; mkfifo "$T/sys/kernel/iommu_groups/1/reserved_regions"
        """),
    Damage(
      name: "empty files",
      script: """
        d=\(dev); : > "$d/vendor"; : > "$d/class"; : > "$T/sys/kernel/iommu_groups/1/type"
        for f in "$T"/sys/class/iommu/dmar0/intel-iommu/*; do : > "$f"; done
        """),
    Damage(
      name: "non-UTF-8 everywhere",
      script: """
        printf '\\377\\376DMA\\n' > "$T/sys/kernel/iommu_groups/1/type"
        printf '0x00000000fee00000 0x00000000feefffff \\377msi\\n' > "$T/sys/kernel/iommu_groups/1/reserved_regions"
        d=\(dev); rm "$d/driver"; ln -s "$(printf '../../drivers/e1000\\377')" "$d/driver"
        printf '\\377\\377\\377\\n' > "$T/sys/class/iommu/dmar0/intel-iommu/cap"
        """),
    Damage(
      name: "group lists a missing device",
      script: """
        ln -s ../../../../devices/pci0000:00/0000:00:09.0 "$T/sys/kernel/iommu_groups/1/devices/0000:00:09.0"
        """),
    // Groups that cannot be listed are not "no IOMMU": list says so and exits 3 (issue 12).
    Damage(
      name: "groups directory is a file",
      script: """
        rm -rf "$T/sys/kernel/iommu_groups"; echo no > "$T/sys/kernel/iommu_groups"
        """, listStatus: 3),
    Damage(
      name: "thousands of empty groups",
      script: """
        cd "$T/sys/kernel/iommu_groups" && seq 100 5100 | sed 's|$|/devices|' | xargs mkdir -p
        """),
    Damage(
      name: "thousands of broken groups",
      script: """
        cd "$T/sys/kernel/iommu_groups" && seq 100 5100 | xargs mkdir
        """),
    Damage(
      name: "entry that is not a PCI address",
      script: """
        mkdir "$T/sys/bus/pci/devices/garbage"
        """, listStatus: 3),
  ]

  static let commands: [[String]] = [
    ["list"],
    ["--json", "list"],
    ["check", "--all", "--viommu", "intel", "--backend", "sysfs"],
    ["--json", "check", "--all", "--viommu", "intel", "--aw-bits", "48", "--backend", "sysfs"],
    ["--json", "caps", "--backend", "sysfs", "0000:00:02.0", "0000:01:00.0"],
    ["snapshot"],
  ]

  static func makeTree(_ damage: Damage) throws -> URL {
    let tree = FileManager.default.temporaryDirectory
      .appendingPathComponent("hiodctl-hostile-\(getpid())-\(UUID().uuidString)")
    let source = Golden.testsDirectory + "/Fixtures/synthetic/intel-host"
    let setup = Process()
    setup.executableURL = URL(fileURLWithPath: "/bin/sh")
    setup.arguments = ["-ec", "mkdir -p \"$T\" && cp -a \"$S/.\" \"$T/\"\n" + damage.script]
    setup.environment = ["T": tree.path, "S": source, "PATH": "/usr/bin:/bin"]
    try setup.run()
    setup.waitUntilExit()
    try #require(setup.terminationStatus == 0, "damage '\(damage.name)' did not apply")
    return tree
  }

  /// stderr may only hold hiodctl's own messages: `hiodctl: …` lines and hint lines.
  static func crashFree(_ stderr: String) -> Bool {
    stderr.split(separator: "\n").allSatisfy {
      $0.hasPrefix("hiodctl: ") || $0.hasPrefix("hint: ") || $0.hasPrefix("  hint: ")
    } && !stderr.contains("Fatal error") && !stderr.contains("Backtrace")
  }

  @Test(.timeLimit(.minutes(2)), arguments: damages)
  func everyCommandAnswersOrFailsCleanly(damage: Damage) throws {
    let tree = try Self.makeTree(damage)
    defer { try? FileManager.default.removeItem(at: tree) }
    for command in Self.commands {
      let outcome = try Golden.run(["--sysroot", tree.path] + command)
      let described = "\(damage.name): hiodctl \(command.joined(separator: " "))"
      #expect([0, 1, 2, 3].contains(outcome.status), "\(described): exit \(outcome.status)")
      #expect(Self.crashFree(outcome.stderr), "\(described): stderr \(outcome.stderr)")
      if command == ["list"] {
        #expect(outcome.status == damage.listStatus, "\(described)")
      }
      if damage.listStatus == 0 {
        #expect(outcome.status != 3, "\(described): \(outcome.stderr)")
      }
      if command.contains("--json") && outcome.status != 3 {
        #expect(
          (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) != nil,
          "\(described): stdout is not JSON")
      }
    }
  }

  /// Thousands of warnings do not bury the answer: stderr shows the first 20 and how
  /// many more there are; the JSON carries every one.
  @Test func warningsAreCappedOnStderrButCompleteInJSON() throws {
    let tree = try Self.makeTree(Self.damages.first { $0.name == "thousands of broken groups" }!)
    defer { try? FileManager.default.removeItem(at: tree) }
    let text = try Golden.run(["--sysroot", tree.path, "list"])
    let lines = text.stderr.split(separator: "\n")
    #expect(lines.count == 21)
    #expect(lines.last == "hiodctl: warning: 4981 more warnings not shown; the JSON output lists them all")
    let json = try Golden.run(["--sysroot", tree.path, "--json", "list"])
    let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    #expect((document?["warnings"] as? [String])?.count == 5001)
  }

  /// The text `list` does not read what its table does not show (the subsystem IDs),
  /// so it does not warn about them either; `--json list` reads and warns. This is
  /// what tells the two scans apart from the outside: it fails if the table were given
  /// the complete scan, or the JSON the listing one.
  @Test func onlyTheJSONListReadsAndWarnsAboutTheSubsystemIDs() throws {
    let tree = try Self.makeTree(
      Damage(
        name: "subsystem_vendor is a directory",
        script: """
          d=$(readlink -f "$T/sys/bus/pci/devices/0000:00:02.0")
          rm "$d/subsystem_vendor" && mkdir "$d/subsystem_vendor"
          """))
    defer { try? FileManager.default.removeItem(at: tree) }
    let text = try Golden.run(["--sysroot", tree.path, "list"])
    let json = try Golden.run(["--sysroot", tree.path, "--json", "list"])
    #expect(text.status == 0 && json.status == 0)
    #expect(!text.stderr.contains("subsystem_vendor"), "\(text.stderr)")
    #expect(json.stderr.contains("subsystem_vendor"), "\(json.stderr)")
    let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
    #expect((document?["warnings"] as? [String])?.contains { $0.contains("subsystem_vendor") } == true)
    // The table itself is the undamaged tree's.
    let intact = try Golden.run(["--sysroot", Golden.testsDirectory + "/Fixtures/synthetic/intel-host", "list"])
    #expect(text.stdout == intact.stdout)
  }

  /// The binary while a child process keeps moving a device, its driver link and a
  /// group away and back: every run exits 0 with a JSON document.
  @Test(.timeLimit(.minutes(2)))
  func listStaysWholeWhileTheTreeChanges() throws {
    let tree = try Self.makeTree(Damage(name: "none", script: ":"))
    defer { try? FileManager.default.removeItem(at: tree) }
    let mover = Process()
    mover.executableURL = URL(fileURLWithPath: "/bin/sh")
    mover.arguments = [
      "-c",
      """
      d=$(readlink -f "$T/sys/bus/pci/devices/0000:00:03.0")
      g="$T/sys/kernel/iommu_groups/2"
      while :; do
        mv "$d" "$d.away"; mv "$d.away" "$d"
        mv "$g" "$g.away"; mv "$g.away" "$g"
        mv "$d/driver" "$d/driver.away"; mv "$d/driver.away" "$d/driver"
      done
      """,
    ]
    mover.environment = ["T": tree.path, "PATH": "/usr/bin:/bin"]
    try mover.run()
    defer {
      mover.terminate()
      mover.waitUntilExit()
    }
    for _ in 0..<40 {
      let outcome = try Golden.run([
        "--sysroot", tree.path, "--json", "check", "--all", "--viommu", "intel", "--backend", "sysfs",
      ])
      #expect([0, 1].contains(outcome.status), "exit \(outcome.status): \(outcome.stderr)")
      #expect(Self.crashFree(outcome.stderr), "\(outcome.stderr)")
      let document = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
      #expect(document?["devices"] != nil)
    }
  }
}
