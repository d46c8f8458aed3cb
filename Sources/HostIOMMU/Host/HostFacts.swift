// hiodctl — host-wide IOMMU and VFIO facts: units, nodes, interrupt remapping.
// SPDX-License-Identifier: GPL-2.0-or-later

import SystemPackage

/// Whether the host remaps interrupts, which VFIO needs for MSI isolation.
package enum InterruptRemapping: String, Sendable, Hashable, CaseIterable {
  case enabled
  case disabled
  /// Nothing readable tells (a fixture tree without IRQ information, say).
  case unknown
}

/// The CPU vendor, only used to give the right kernel parameter in hints.
package enum CPUVendor: String, Sendable, Hashable, CaseIterable {
  case intel, amd, other
}

/// The `allow_unsafe_interrupts` module parameters, which bypass VFIO's MSI-isolation
/// check (nil: the module is not loaded or the tree does not say).
package struct UnsafeInterruptsPolicy: Hashable, Sendable {
  /// `vfio_iommu_type1.allow_unsafe_interrupts` (legacy container backend).
  package var vfioType1: Bool?
  /// `iommufd.allow_unsafe_interrupts` (iommufd backend).
  package var iommufd: Bool?

  package init(vfioType1: Bool? = nil, iommufd: Bool? = nil) {
    self.vfioType1 = vfioType1
    self.iommufd = iommufd
  }
}

/// What the host as a whole offers for device assignment.
package struct HostFacts: Hashable, Sendable {
  package var iommuUnits: [IOMMUUnit]
  package var iommuGroupCount: Int
  /// `/dev/vfio/vfio`, the legacy type1 container.
  package var vfioContainer: DeviceNode
  /// `/dev/iommu`, iommufd.
  package var iommufd: DeviceNode
  package var interruptRemapping: InterruptRemapping
  package var unsafeInterrupts: UnsafeInterruptsPolicy
  package var cpuVendor: CPUVendor?
  /// Why /sys/kernel/iommu_groups could not be listed (`Permission denied`); nil when it
  /// could, or does not exist (no IOMMU). With it the group count says nothing.
  package var iommuGroupsError: String?
  /// /proc/cmdline (nil: unreadable).
  package var kernelCommandLine: String?
  /// The running kernel's release (`uname -r`, /proc/sys/kernel/osrelease; a snapshot's
  /// kernel.release), for the checks whose answer depends on the kernel (nil: unknown).
  package var kernelRelease: String?
  /// Which of `VFIOModule` are loaded or built in, by /sys/module name (nil: the tree has
  /// no /sys/module).
  package var modules: [String: Bool]?
  /// `vfio.enable_unsafe_noiommu_mode` (nil: vfio not loaded, or not told).
  package var noIOMMUMode: Bool?
  /// The hypervisor the host runs under, when it says (DMI, /sys/hypervisor, the CPU's
  /// hypervisor flag); nil on bare metal or when nothing tells.
  package var hypervisor: String?
  /// ACS of the ports above the VFIO-bound devices.
  package var upstreamPorts: [PortACS]
  /// Devices the host itself uses: mounted disks' controllers, default-route NICs (nil:
  /// neither the mounts nor the routes could be read).
  package var devicesInUse: [DeviceUse]?
  /// false for a snapshot taken before hiodctl recorded the facts above: `host` then
  /// says "not recorded" instead of judging nil as unreadable.
  package var environmentRecorded: Bool

  package init(
    iommuUnits: [IOMMUUnit] = [], iommuGroupCount: Int = 0,
    vfioContainer: DeviceNode = DeviceNode(path: "/dev/vfio/vfio", present: false),
    iommufd: DeviceNode = DeviceNode(path: "/dev/iommu", present: false),
    interruptRemapping: InterruptRemapping = .unknown,
    unsafeInterrupts: UnsafeInterruptsPolicy = UnsafeInterruptsPolicy(),
    cpuVendor: CPUVendor? = nil, iommuGroupsError: String? = nil, kernelCommandLine: String? = nil,
    modules: [String: Bool]? = nil, noIOMMUMode: Bool? = nil, hypervisor: String? = nil,
    upstreamPorts: [PortACS] = [], devicesInUse: [DeviceUse]? = nil, environmentRecorded: Bool = true
  ) {
    self.iommuUnits = iommuUnits
    self.iommuGroupCount = iommuGroupCount
    self.vfioContainer = vfioContainer
    self.iommufd = iommufd
    self.interruptRemapping = interruptRemapping
    self.unsafeInterrupts = unsafeInterrupts
    self.cpuVendor = cpuVendor
    self.iommuGroupsError = iommuGroupsError
    self.kernelCommandLine = kernelCommandLine
    self.kernelRelease = nil
    self.modules = modules
    self.noIOMMUMode = noIOMMUMode
    self.hypervisor = hypervisor
    self.upstreamPorts = upstreamPorts
    self.devicesInUse = devicesInUse
    self.environmentRecorded = environmentRecorded
  }

  /// The kernel command line's words (empty when unknown).
  package var kernelParameters: [String] {
    kernelCommandLine.map { $0.split(separator: " ").map(String.init) } ?? []
  }
}

extension HostFacts {
  /// Reads the host-wide facts; `groupCount` comes from the group scan.
  static func read(
    from root: SystemRoot, groupCount: Int, devices: [PCIDevice] = [], warnings: inout [String]
  ) -> HostFacts {
    var facts = HostFacts(iommuGroupCount: groupCount)
    switch root.directoryEntries("/sys/class/iommu") {
    case .success(let names):
      facts.iommuUnits = names.sorted(by: naturalOrder).map {
        IOMMUUnit.read(named: $0, from: root, warnings: &warnings)
      }
    case .failure(.noSuchFileOrDirectory):
      break  // no IOMMU driver registered any unit
    case .failure(let errno):
      warnings.append("/sys/class/iommu: \(errno.description)")
    }
    facts.vfioContainer.present = root.exists("/dev/vfio/vfio")
    facts.iommufd.present = root.exists("/dev/iommu")
    facts.interruptRemapping = readInterruptRemapping(root)
    facts.unsafeInterrupts = UnsafeInterruptsPolicy(
      vfioType1: readBoolParameter(root, "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"),
      iommufd: readBoolParameter(root, "/sys/module/iommufd/parameters/allow_unsafe_interrupts"))
    facts.cpuVendor = readCPUVendor(root)
    readEnvironment(into: &facts, root: root, devices: devices)
    return facts
  }

  /// Interrupt remapping shows in the names of the interrupt chips: with remapping on,
  /// the IO-APIC and PCI MSI domains sit on top of the IOMMU's remapping domain and are
  /// called `IR-IO-APIC`, `IR-PCI-MSI…`. The first such chip decides.
  static func readInterruptRemapping(_ root: SystemRoot) -> InterruptRemapping {
    func verdict(forChip name: Substring) -> InterruptRemapping? {
      guard name.contains("IO-APIC") || name.contains("PCI-MSI") else { return nil }
      return name.hasPrefix("IR-") ? .enabled : .disabled
    }
    // /sys/kernel/irq/<n>/chip_name (Linux ≥ 4.11): small files, stop at the first answer.
    if case .success(let irqs) = root.directoryEntries("/sys/kernel/irq") {
      for irq in irqs.sorted(by: naturalOrder) {
        if case .success(let chip) = root.readText("/sys/kernel/irq/\(irq)/chip_name"),
          let answer = verdict(forChip: chip.trimmingWhitespace())
        {
          return answer
        }
      }
    }
    // /proc/interrupts names the chip in a column of its own.
    if case .success(let text) = root.readText("/proc/interrupts", limit: 4 << 20) {
      for line in text.split(separator: "\n") {
        for field in line.split(separator: " ") {
          if let answer = verdict(forChip: field) { return answer }
        }
      }
    }
    return .unknown
  }

  private static func readBoolParameter(_ root: SystemRoot, _ path: String) -> Bool? {
    guard let text = root.readText(path).ok else { return nil }
    switch text.trimmingWhitespace() {
    case "Y", "y", "1": return true
    case "N", "n", "0": return false
    default: return nil
    }
  }

  private static func readCPUVendor(_ root: SystemRoot) -> CPUVendor? {
    // The vendor is on the first lines; do not read a many-core host's whole cpuinfo.
    guard case .success(let bytes) = root.readPrefix("/proc/cpuinfo", maxBytes: 4096) else {
      return nil
    }
    let text = String(decoding: bytes, as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix("vendor_id") {
      if line.hasSuffix("GenuineIntel") { return .intel }
      if line.hasSuffix("AuthenticAMD") || line.hasSuffix("HygonGenuine") { return .amd }
      return .other
    }
    return nil
  }
}

/// Orders names with embedded numbers numerically: `dmar2` before `dmar10`, `9` before `10`.
func naturalOrder(_ lhs: String, _ rhs: String) -> Bool {
  func split(_ s: String) -> (String, Int?) {
    let digits = s.reversed().prefix(while: \.isNumber)
    let stem = String(s.dropLast(digits.count))
    return (stem, digits.isEmpty || digits.count > 18 ? nil : Int(String(digits.reversed())))
  }
  let (ls, ln) = split(lhs)
  let (rs, rn) = split(rhs)
  if ls != rs || ln == nil || rn == nil { return lhs < rhs }
  return ln! < rn!
}
