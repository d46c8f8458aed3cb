// hiodctl — what is wrong with the host as a whole, in words, with the fix.
// SPDX-License-Identifier: GPL-2.0-or-later

/// A host-level finding of `hiodctl list`: the common reasons device assignment
/// cannot work at all, diagnosed before anyone starts a VM.
public struct Diagnosis: Hashable, Sendable {
  public enum Severity: String, Sendable, Hashable {
    /// Device assignment cannot work on this host as it is.
    case error
    /// Something will fail or is unsafe for some configurations.
    case warning
    /// A limitation worth knowing (e.g. only the legacy backend).
    case info
  }

  public var severity: Severity
  /// A stable identifier scripts can match on (`iommu-disabled`).
  public var code: String
  public var message: String
  public var hint: String?

  public init(severity: Severity, code: String, message: String, hint: String? = nil) {
    self.severity = severity
    self.code = code
    self.message = message
    self.hint = hint
  }
}

extension Diagnosis {
  /// The host-level diagnoses, most severe first.
  static func diagnose(_ facts: HostFacts, groups: [IOMMUGroup]) -> [Diagnosis] {
    var found: [Diagnosis] = []
    if facts.iommuGroupCount == 0 {
      if facts.iommuUnits.isEmpty {
        found.append(
          Diagnosis(
            severity: .error, code: "iommu-disabled",
            message: "no IOMMU groups: the IOMMU is disabled",
            hint: enableIOMMUHint(facts.cpuVendor)))
      } else {
        let names = facts.iommuUnits.map(\.name).joined(separator: ", ")
        found.append(
          Diagnosis(
            severity: .error, code: "dma-remapping-disabled",
            message: "IOMMU units are present (\(names)) but there are no IOMMU groups: DMA remapping is off",
            hint: "remove intel_iommu=off, amd_iommu=off or iommu=off from the kernel command line"))
      }
      return found
    }
    let noIOMMUGroups = groups.filter(\.isNoIOMMU)
    if !noIOMMUGroups.isEmpty {
      found.append(
        Diagnosis(
          severity: .warning, code: "noiommu-mode",
          message: "VFIO runs in unsafe no-IOMMU mode for \(noIOMMUGroups.count == 1 ? "group" : "groups") "
            + noIOMMUGroups.map { String($0.id) }.joined(separator: ", ")
            + ": no DMA isolation, and QEMU cannot use /dev/vfio/noiommu-N",
          hint: "enable the IOMMU and reload vfio without enable_unsafe_noiommu_mode=1"))
    }
    if !facts.vfioContainer.present {
      found.append(
        Diagnosis(
          severity: .warning, code: "vfio-not-loaded",
          message: "/dev/vfio/vfio is missing: VFIO is not loaded (or built without the container)",
          hint: "modprobe vfio-pci"))
    }
    if !facts.iommufd.present {
      found.append(
        Diagnosis(
          severity: .info, code: "iommufd-unavailable",
          message: "/dev/iommu is missing: only the legacy VFIO container backend can be used",
          hint: "modprobe iommufd (Linux 6.2 or later, built with CONFIG_IOMMUFD)"))
    }
    if facts.interruptRemapping == .disabled {
      let bypassed = facts.unsafeInterrupts.vfioType1 == true || facts.unsafeInterrupts.iommufd == true
      found.append(
        Diagnosis(
          severity: bypassed ? .warning : .error, code: "interrupt-remapping-disabled",
          message: "interrupt remapping is off: VFIO refuses devices without MSI isolation (EPERM)",
          hint: "enable interrupt remapping (VT-d/AMD-Vi with x2APIC in the firmware); "
            + "allow_unsafe_interrupts=1 only bypasses the check and lets a guest forge interrupts"))
    }
    if facts.unsafeInterrupts.vfioType1 == true || facts.unsafeInterrupts.iommufd == true {
      let which = [
        facts.unsafeInterrupts.vfioType1 == true ? "vfio_iommu_type1" : nil,
        facts.unsafeInterrupts.iommufd == true ? "iommufd" : nil,
      ].compactMap { $0 }.joined(separator: " and ")
      found.append(
        Diagnosis(
          severity: .warning, code: "unsafe-interrupts-allowed",
          message: "\(which) allow_unsafe_interrupts=Y: devices are assigned without MSI isolation",
          hint: "a guest can then forge interrupts to the host; keep it off where interrupt remapping works"))
    }
    return found
  }

  private static func enableIOMMUHint(_ vendor: CPUVendor?) -> String {
    switch vendor {
    case .intel:
      "enable VT-d in the firmware setup and boot with intel_iommu=on"
    case .amd:
      "enable the IOMMU (AMD-Vi) in the firmware setup and do not boot with amd_iommu=off"
    case .other, nil:
      "enable the IOMMU in the firmware and boot with intel_iommu=on (Intel) or without amd_iommu=off (AMD)"
    }
  }
}
