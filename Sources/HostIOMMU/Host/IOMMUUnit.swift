// hiodctl — IOMMU hardware units under /sys/class/iommu.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

/// Who made an IOMMU unit, told from its sysfs name and attribute group.
package enum IOMMUVendor: String, Sendable, Hashable, CaseIterable {
  /// Intel VT-d: `dmar<N>` with an `intel-iommu/` attribute group.
  case intel
  /// AMD-Vi: `ivhd<N>` with an `amd-iommu/` attribute group.
  case amd
  /// Arm SMMU: `smmu3.0x…` (SMMUv3) or `smmu.0x…`; no register attributes upstream.
  case arm
  /// A paravirtual virtio-iommu (inside a guest).
  case virtio
  case unknown
}

/// The raw VT-d registers sysfs shows in `dmar<N>/intel-iommu/`: the same values
/// `IOMMU_GET_HW_INFO` returns in `iommu_hw_info_vtd`, readable without privileges.
package struct IntelVTdRegisters: Hashable, Sendable {
  /// `version`: "major:minor".
  package var version: String?
  package var capability: UInt64
  package var extendedCapability: UInt64

  package init(version: String?, capability: UInt64, extendedCapability: UInt64) {
    self.version = version
    self.capability = capability
    self.extendedCapability = extendedCapability
  }
}

/// AMD-Vi attributes from `ivhd<N>/amd-iommu/`.
package struct AMDViRegisters: Hashable, Sendable {
  /// `cap`: the IOMMU's 32-bit PCI capability header dword.
  package var capability: UInt32?
  /// `features` verbatim. Kernels print `EFR`, `EFR2:EFR` or `EFR:EFR2`; the order cannot
  /// be told from the text, so hiodctl does not guess.
  package var features: String?

  package init(capability: UInt32?, features: String?) {
    self.capability = capability
    self.features = features
  }
}

/// One IOMMU unit of the host.
package struct IOMMUUnit: Hashable, Sendable {
  /// The name under /sys/class/iommu (`dmar0`, `ivhd0`, `smmu3.0x0000000009050000`).
  package var name: String
  package var vendor: IOMMUVendor
  package var intelVTd: IntelVTdRegisters?
  package var amdVi: AMDViRegisters?

  package init(
    name: String, vendor: IOMMUVendor, intelVTd: IntelVTdRegisters? = nil,
    amdVi: AMDViRegisters? = nil
  ) {
    self.name = name
    self.vendor = vendor
    self.intelVTd = intelVTd
    self.amdVi = amdVi
  }

  /// A one-word description for people: "Intel VT-d", "AMD-Vi".
  package var vendorDescription: String {
    switch vendor {
    case .intel: "Intel VT-d"
    case .amd: "AMD-Vi"
    case .arm: "Arm SMMU"
    case .virtio: "virtio-iommu"
    case .unknown: "unknown IOMMU"
    }
  }
}

extension IOMMUUnit {
  /// Reads `/sys/class/iommu/<name>`. Unreadable registers are reported and left nil.
  static func read(named name: String, from root: SystemRoot, warnings: inout [String]) -> IOMMUUnit {
    let base = "/sys/class/iommu/\(name)"
    if name.hasPrefix("dmar") || root.exists("\(base)/intel-iommu") {
      let registers = readIntelRegisters(base + "/intel-iommu", root: root, warnings: &warnings)
      return IOMMUUnit(name: name, vendor: .intel, intelVTd: registers)
    }
    if name.hasPrefix("ivhd") || root.exists("\(base)/amd-iommu") {
      let capability = root.readText("\(base)/amd-iommu/cap").ok.flatMap {
        UInt32(hex: $0.trimmingWhitespace().drop0x)
      }
      let features = root.readText("\(base)/amd-iommu/features").ok.map {
        String($0.trimmingWhitespace())
      }
      return IOMMUUnit(
        name: name, vendor: .amd, amdVi: AMDViRegisters(capability: capability, features: features))
    }
    if name.hasPrefix("smmu") { return IOMMUUnit(name: name, vendor: .arm) }
    if name.hasPrefix("virtio") { return IOMMUUnit(name: name, vendor: .virtio) }
    // virtio-iommu names its unit after the virtio device; its parent tells.
    if case .success(let target) = root.readLink(base), target.contains("/virtio") {
      return IOMMUUnit(name: name, vendor: .virtio)
    }
    return IOMMUUnit(name: name, vendor: .unknown)
  }

  private static func readIntelRegisters(
    _ directory: String, root: SystemRoot, warnings: inout [String]
  ) -> IntelVTdRegisters? {
    func register(_ file: String) -> UInt64? {
      switch root.readText("\(directory)/\(file)") {
      case .success(let text):
        if let value = UInt64(registerText: Substring(text)) { return value }
        warnings.append("\(directory)/\(file): not a hex register value: '\(text.trimmingWhitespace())'")
      case .failure(let errno):
        warnings.append("\(directory)/\(file): \(errno.description)")
      }
      return nil
    }
    guard let capability = register("cap"), let extended = register("ecap") else { return nil }
    let version = root.readText("\(directory)/version").ok.map { String($0.trimmingWhitespace()) }
    return IntelVTdRegisters(version: version, capability: capability, extendedCapability: extended)
  }
}

extension Result {
  /// The success value, or nil: for optional attributes whose absence is normal.
  var ok: Success? {
    if case .success(let value) = self { return value }
    return nil
  }
}

extension StringProtocol {
  /// Drops a leading `0x`.
  var drop0x: SubSequence { hasPrefix("0x") ? dropFirst(2) : self[...] }
}
