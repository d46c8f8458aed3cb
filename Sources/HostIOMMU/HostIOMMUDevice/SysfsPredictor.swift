// hiodctl — predicting a HostIOMMUDevice from sysfs alone: no privileges, no kernel
// objects, usable while the device is busy. A prediction, never the kernel's answer.
// SPDX-License-Identifier: GPL-2.0-or-later

/// Predicts what the legacy (type1) backend would report, from the IOMMU unit's
/// registers and the group's reserved regions.
///
/// The kernel rules restated here (Linux 6.12, drivers/iommu/intel/iommu.c): VFIO's
/// domains use second-stage tables; their width is the largest width of the effective
/// SAGAW not above 57, capped at MGAW; the aperture is [0, 2^width − 1]. AMD's default
/// v1 page table has a 64-bit aperture (`dma_max_address`). Usable ranges are the
/// aperture minus every reserved region except `direct-relaxable`.
struct SysfsPredictor {
  let root: SystemRoot

  func predict(_ device: PCIDevice, in host: HostInventory) throws(RealizeFailure) -> HostIOMMUDevice {
    let name = device.address.description
    guard let groupID = device.iommuGroup, let group = host.group(groupID) else {
      throw Preconditions.noGroup(device, host: host.facts, groups: host.groups, backend: .sysfs)
    }
    let unit = device.iommuUnit.flatMap { unitName in host.facts.iommuUnits.first { $0.name == unitName } }
    var prediction = HostIOMMUDevice(name: name, backend: .sysfs, iovaRanges: nil, pageSizeMask: nil)
    let regionsOrigin = "/sys/kernel/iommu_groups/\(groupID)/reserved_regions"

    switch unit?.vendor {
    case .intel?:
      guard let unit, let registers = unit.intelVTd else {
        prediction.notes.append("the VT-d registers of \(unit?.name ?? "the unit") could not be read")
        return prediction
      }
      let registerFiles = "/sys/class/iommu/\(unit.name)/intel-iommu/{cap,ecap}"
      let width = Self.intelDomainWidth(registers, scalableMode: kernelScalableMode())
      let aperture = width.bits >= 64 ? UInt64.max : (UInt64(1) << UInt64(width.bits)) - 1
      prediction.iovaRanges = Sourced(
        usableRanges(apertureEnd: aperture, excluding: group.reservedRegions),
        Provenance(.sysfs, "\(registerFiles) (SAGAW, MGAW) and \(regionsOrigin)"))
      prediction.pageSizeMask = Sourced(
        Self.intelSecondStagePageSizes(registers.capability),
        Provenance(.sysfs, "/sys/class/iommu/\(unit.name)/intel-iommu/cap (SLLPS)"))
      prediction.caps.type = Sourced(.intelVTd, Provenance(.sysfs, "/sys/class/iommu/\(unit.name) is a VT-d unit"))
      prediction.caps.vendor = Sourced(
        .intelVTd(flags: 0, capability: registers.capability, extendedCapability: registers.extendedCapability),
        Provenance(.sysfs, registerFiles))
      prediction.notes += width.notes
    case .amd?:
      let v2 = kernelCommandLine().contains { $0.hasPrefix("amd_iommu=") && $0.contains("pgtbl_v2") }
      let bits = v2 ? 48 : 64
      let aperture = bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
      prediction.iovaRanges = Sourced(
        usableRanges(apertureEnd: aperture, excluding: group.reservedRegions),
        Provenance(.sysfs, "AMD \(v2 ? "v2 (4-level)" : "v1") page-table aperture and \(regionsOrigin)"))
      prediction.notes.append(
        v2
          ? "amd_iommu=pgtbl_v2: assumes 4-level v2 tables (48 bits; 57 with 5-level paging)"
          : "assumes the default AMD v1 page table, whose aperture is 64 bits wide")
      // The device's iommu link names the unit, as `list` shows it (issue 12).
      if let unit {
        prediction.caps.type = Sourced(.amd, Provenance(.sysfs, "/sys/class/iommu/\(unit.name) is an AMD-Vi unit"))
      }
    case .some(let vendor):
      prediction.notes.append(
        """
        sysfs does not show the aperture of \(vendor.rawValue) IOMMUs (\(unit?.name ?? "?")): \
        aw_bits needs the kernel (--backend legacy or iommufd)
        """
      )
    case nil:
      prediction.notes.append(
        "the device's IOMMU unit is unknown (no iommu link in sysfs): aw_bits needs the kernel")
    }
    return prediction
  }

  /// The second-stage domain width Linux gives a VFIO domain on this unit.
  ///
  /// `iommu->agaw` is the largest AGAW ≤ 57 bits in the effective SAGAW, which is the
  /// second-stage SAGAW unless scalable mode is on and first-stage translation exists
  /// (then first-stage SAGAW: 48, plus 57 with FS5LP; intersected with second-stage when
  /// both exist). The domain width is that, capped at MGAW. Whether the kernel runs in
  /// scalable mode is not in sysfs (`intel_iommu=sm_on`): when it matters and is not
  /// known, both answers are computed and the smaller is used, with a note.
  static func intelDomainWidth(_ registers: IntelVTdRegisters, scalableMode: Bool?)
    -> (bits: Int, notes: [String])
  {
    let cap = registers.capability
    let ecap = registers.extendedCapability
    let mgaw = Int((cap >> 16) & 0x3f) + 1
    let secondStageSAGAW = (cap >> 8) & 0x1f
    let hasScalable = ecap & (1 << 43) != 0  // ECAP.SMTS
    let hasFirstStage = ecap & (1 << 47) != 0  // ECAP.FSTS
    let hasSecondStage = ecap & (1 << 46) != 0  // ECAP.SSTS
    let firstStageSAGAW: UInt64 = (1 << 2) | (cap & (1 << 60) != 0 ? 1 << 3 : 0)  // CAP.FS5LP

    func width(scalable: Bool) -> Int? {
      var sagaw = secondStageSAGAW
      if scalable && hasScalable && hasFirstStage {
        sagaw = hasSecondStage ? firstStageSAGAW & secondStageSAGAW : firstStageSAGAW
      }
      // AGAW n covers 30 + 9n bits; 57 bits is AGAW 3.
      guard let agaw = (0...3).reversed().first(where: { sagaw & (1 << UInt64($0)) != 0 }) else {
        return nil
      }
      return Swift.min(Swift.min(30 + 9 * agaw, 64), mgaw)
    }

    var notes = ["predicted from sysfs: Linux's second-stage domain width min(SAGAW width, MGAW \(mgaw))"]
    let answers = scalableMode.map { [width(scalable: $0)] } ?? [width(scalable: false), width(scalable: true)]
    let known = answers.compactMap { $0 }
    guard let bits = known.min() else {
      notes.append("SAGAW \(String(secondStageSAGAW, radix: 2)) supports no page-table depth Linux uses; assuming MGAW")
      return (mgaw, notes)
    }
    if Set(known).count > 1 {
      notes.append(
        """
        the answer depends on whether the kernel runs VT-d in scalable mode (intel_iommu=sm_on), \
        which sysfs does not show: \(known.max()!) bits if it does, \(bits) if not; reporting \(bits)
        """
      )
    }
    return (bits, notes)
  }

  /// Second-stage page sizes: 4K, plus 2M and 1G as CAP.SLLPS (bits 34–37) says.
  static func intelSecondStagePageSizes(_ cap: UInt64) -> UInt64 {
    let superPages = (cap >> 34) & 0xf
    var mask: UInt64 = 1 << 12
    // Linux takes fls(SLLPS) levels: 1 → 2M, 2 → 2M+1G.
    let levels = 64 - superPages.leadingZeroBitCount
    if levels >= 1 { mask |= 1 << 21 }
    if levels >= 2 { mask |= 1 << 30 }
    return mask
  }

  /// intel_iommu=sm_on / sm_off from the kernel command line, when it says.
  private func kernelScalableMode() -> Bool? {
    var answer: Bool?
    for word in kernelCommandLine() where word.hasPrefix("intel_iommu=") {
      for option in word.dropFirst("intel_iommu=".count).split(separator: ",") {
        if option == "sm_on" { answer = true }
        if option == "sm_off" { answer = false }
      }
    }
    return answer
  }

  private func kernelCommandLine() -> [Substring] {
    guard let text = root.readText("/proc/cmdline").ok else { return [] }
    return text.split(whereSeparator: \.isWhitespace)
  }
}
