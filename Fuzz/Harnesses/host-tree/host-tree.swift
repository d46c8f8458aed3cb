// hiodctl fuzzing — the whole tree: HostInventory.scan over a captured sysfs/proc/dev tree
// (Tests/Fixtures/captured/intel-aw39, copied by Fuzz/run into the work directory, path in
// $HIODCTL_FUZZ_TREE) whose attribute files the input overwrites, then what `list` and
// `caps --backend sysfs` do with the result. Input: records {file index u8, length u8,
// that many bytes}, each replacing one file of `targets`; the files are restored after
// every run. Checks that the scan answers (the tree's shape is intact), that each group's
// regions are exactly what its reserved_regions file parses to, and that the sysfs
// prediction's windows are normalised with aw_bits in 1...64.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport
import Glibc

@testable import HostIOMMU
@testable import hiodctl

/// The files an input can replace, relative to the tree.
private let targets = [
  "sys/kernel/iommu_groups/0/reserved_regions", "sys/kernel/iommu_groups/1/reserved_regions",
  "sys/kernel/iommu_groups/2/reserved_regions", "sys/kernel/iommu_groups/3/reserved_regions",
  "sys/kernel/iommu_groups/2/type", "sys/kernel/iommu_groups/0/type",
  "sys/devices/virtual/iommu/dmar0/intel-iommu/cap", "sys/devices/virtual/iommu/dmar0/intel-iommu/ecap",
  "sys/devices/virtual/iommu/dmar0/intel-iommu/version",
  "sys/devices/pci0000:00/0000:00:02.0/vendor", "sys/devices/pci0000:00/0000:00:02.0/device",
  "sys/devices/pci0000:00/0000:00:02.0/class", "sys/devices/pci0000:00/0000:00:02.0/revision",
  "sys/devices/pci0000:00/0000:00:02.0/subsystem_vendor", "sys/devices/pci0000:00/0000:00:02.0/subsystem_device",
  "sys/devices/pci0000:00/0000:00:02.0/config", "sys/devices/pci0000:00/0000:00:02.0/driver_override",
  "sys/devices/pci0000:00/0000:00:02.0/irq", "sys/devices/pci0000:00/0000:00:02.0/resource",
  "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
  "sys/module/iommufd/parameters/allow_unsafe_interrupts",
  "proc/interrupts", "proc/cmdline",
]

private func readFile(_ path: String) -> [UInt8]? {
  let fd = open(path, O_RDONLY)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var result: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 65536)
  while true {
    let count = read(fd, &chunk, chunk.count)
    guard count > 0 else { break }
    result += chunk[0..<count]
  }
  return result
}

private func writeFile(_ path: String, _ bytes: [UInt8]) {
  let fd = open(path, O_WRONLY | O_TRUNC)
  require(fd >= 0, "cannot write \(path)")
  var bytes = bytes
  if !bytes.isEmpty { require(write(fd, &bytes, bytes.count) == bytes.count, "short write to \(path)") }
  close(fd)
}

/// The tree and the original contents of every target, read once.
private nonisolated(unsafe) var tree: String?
private nonisolated(unsafe) var originals: [[UInt8]] = []

private func setUp() -> String {
  if let tree { return tree }
  guard let path = getenv("HIODCTL_FUZZ_TREE").map({ String(cString: $0) }) else {
    require(false, "set HIODCTL_FUZZ_TREE to a writable copy of Tests/Fixtures/captured/intel-aw39 (Fuzz/run does)")
    return ""
  }
  originals = targets.map { target in
    guard let bytes = readFile(path + "/" + target) else {
      require(false, "\(path)/\(target) is missing: HIODCTL_FUZZ_TREE is not a copy of the intel-aw39 capture")
      return []
    }
    return bytes
  }
  tree = path
  return path
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let path = setUp()
  var reader = ByteReader(bytes(data, size))
  var written: [Int: [UInt8]] = [:]
  while !reader.isEmpty {
    let index = Int(reader.read(UInt8.self)) % targets.count
    let length = Int(reader.read(UInt8.self))
    var content: [UInt8] = []
    while content.count < length, !reader.isEmpty { content.append(reader.read(UInt8.self)) }
    written[index] = content
  }
  for (index, content) in written { writeFile(path + "/" + targets[index], content) }
  defer { for index in written.keys { writeFile(path + "/" + targets[index], originals[index]) } }

  let root: SystemRoot
  let inventory: HostInventory
  do {
    root = try SystemRoot(validating: path)
    inventory = try HostInventory.scan(root, options: .init(resolveNames: false))
  } catch {
    require(false, "the scan of an intact tree failed: \(error)")
    return 0
  }

  for group in inventory.groups {
    let file = "sys/kernel/iommu_groups/\(group.id)/reserved_regions"
    guard let index = targets.firstIndex(of: file) else { continue }
    let text = String(decoding: written[index] ?? originals[index], as: UTF8.self)
    require(
      group.reservedRegions == ReservedRegion.parseFile(text).regions,
      "group \(group.id): regions \(group.reservedRegions) are not what its file parses to")
  }

  // caps --backend sysfs: the prediction for the VFIO-bound device.
  let realizer = HostIOMMURealizer(root: root)
  for device in inventory.devices where device.isVFIOBound {
    let realization = realizer.realize(device, in: inventory, backend: .sysfs)
    if let realized = realization.hostIOMMUDevice {
      if let awBits = realized.awBits { require((1...64).contains(awBits), "aw_bits \(awBits)") }
      if let ranges = realized.iovaRanges?.value {
        require(ranges.normalised().problems.isEmpty, "predicted windows \(ranges) are not normalised")
      }
    }
  }

  // list and list --json.
  _ = ListText.render(inventory, numeric: true)
  _ = try? Output.jsonBytes(ListDocument(inventory))
  return 0
}
