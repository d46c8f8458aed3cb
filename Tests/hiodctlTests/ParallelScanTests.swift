// hiodctl tests — a scan split over threads answers exactly as one thread does: every
// fixture, the commands that read the whole host, split into 1, 3 and 7 parts
// (HIODCTL_SCAN_THREADS forces the split even where hiodctl would keep one thread).
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

struct ParallelScanTests {
  static let trees = [
    "synthetic/intel-host", "synthetic/broken", "synthetic/no-iommu", "synthetic/noiommu-mode",
    "captured/amd", "captured/bridge", "captured/intel-aw39", "captured/intel-aw48", "captured/intel-sm",
    "captured/multifunction", "captured/no-iommu", "captured/virtio",
  ]

  static let commands: [[String]] = [
    ["list"], ["--json", "list"],
    ["--json", "check", "--all", "--viommu", "intel", "--backend", "sysfs"],
    ["check", "--all", "--viommu", "smmuv3", "--backend", "sysfs"], ["snapshot"],
    ["export", "--format", "prometheus"], ["--json", "host"],
  ]

  @Test(arguments: trees)
  func threadsChangeNoAnswer(_ tree: String) throws {
    for command in Self.commands {
      let arguments = ["--sysroot", tree] + command
      let one = try Golden.run(arguments, environment: ["HIODCTL_SCAN_THREADS": "1"])
      for threads in ["3", "7"] {
        let split = try Golden.run(arguments, environment: ["HIODCTL_SCAN_THREADS": threads])
        let difference = Golden.firstDifference(
          expected: one.stdout + one.stderr, actual: split.stdout + split.stderr)
        #expect(
          split == one, "\(tree) \(command.joined(separator: " ")) on \(threads) threads: \(difference)")
      }
    }
  }
}
