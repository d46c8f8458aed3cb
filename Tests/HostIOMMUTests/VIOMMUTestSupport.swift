// hiodctl tests — realistic inputs for the vIOMMU checks, built from the model types: PCI
// devices, realizations through the legacy, iommufd and sysfs backends, host facts.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Register values: QEMU's emulated VT-d as the VM rig saw it (CAP 0x00d2008c22260286, aw 39)
// with an ECAP of QEMU's legacy mode (no NEST, no SMTS), and a hardware-like unit built from
// the bit positions of Linux drivers/iommu/intel/iommu.h (CAP.FS1GP `cap_fl1gp_support`;
// ECAP NEST|SMTS|FSTS, `ecap_nest`, `ecap_smts`, `ecap_flts`).

import SystemPackage

@testable import HostIOMMU

enum VIOMMUFixtures {
  // MARK: Registers

  /// QEMU's emulated VT-d (rig, aw-bits=39): MGAW 39, no FS1GP (bit 56 clear).
  static let emulatedCap: UInt64 = 0x00d2_008c_2226_0286
  /// QEMU's emulated VT-d in legacy mode: QI (bit 1), IR (3), PT (6), IRO = 0xf (bits 8–17),
  /// MHMV = 0xf (20–23); DT (2), EIM (4), SC (7), NEST (26) and SMTS (43) are clear.
  static let emulatedECAP: UInt64 = 0x0000_0000_00f0_0f4a
  /// A hardware-like CAP: the emulated one plus FS1GP (bit 56).
  static let hardwareCap: UInt64 = emulatedCap | 1 << 56
  /// A hardware-like ECAP: the emulated one plus NEST (26), SMTS (43), FSTS (47).
  static let hardwareECAP: UInt64 = emulatedECAP | 1 << 26 | 1 << 43 | 1 << 47

  /// An SMMUv3 matching QEMU's vSMMU: IDR0 S1P|S2P, TTF=2, ATS, TTENDIAN=2, STLEVEL=1;
  /// IDR1 SIDSIZE=16, SSIDSIZE=20; IDR3 RIL; IDR5 OAS=5 (48 bits), GRAN4K|16K|64K.
  static let smmuIDR: [UInt32] = [
    1 << 0 | 1 << 1 | 2 << 2 | 1 << 10 | 2 << 21 | 1 << 27,
    16 | 20 << 6,
    0,
    1 << 10,
    0,
    5 | 1 << 4 | 1 << 5 | 1 << 6,
  ]

  // MARK: Ranges

  /// The rig's ranges with aw-bits=39: the MSI window cut out of a 39-bit aperture.
  static let ranges39 = [
    IOVARange(start: 0, last: 0xfedf_ffff), IOVARange(start: 0xfef0_0000, last: 0x7f_ffff_ffff),
  ]
  /// The same with a 48-bit aperture.
  static let ranges48 = [
    IOVARange(start: 0, last: 0xfedf_ffff), IOVARange(start: 0xfef0_0000, last: 0xffff_ffff_ffff),
  ]
  /// 4K | 2M | 1G, the rig's iova_pgsizes.
  static let pageSizes: UInt64 = 0x4020_1000

  // MARK: Devices

  static func address(_ bus: UInt8 = 1, _ device: UInt8 = 0, _ function: UInt8 = 0) -> PCIAddress {
    PCIAddress(domain: 0, bus: bus, device: device, function: function)
  }

  /// The default device is in group 3; every other address has a group of its own.
  static func group(of address: PCIAddress) -> Int {
    address == Self.address() ? 3 : 100 + Int(address.bus) * 32 + Int(address.device)
  }

  static func pciDevice(
    _ address: PCIAddress = address(), group: Int?? = nil, unit: String? = "dmar0", driver: String? = "vfio-pci"
  ) -> PCIDevice {
    let group: Int? = group ?? Self.group(of: address)
    return PCIDevice(
      address: address,
      identity: PCIIdentity(
        vendorID: 0x8086, deviceID: 0x10d3, classCode: 0x0200, progIf: 0, revision: 0,
        subsystemVendorID: nil, subsystemDeviceID: nil),
      iommuGroup: group, iommuUnit: unit, driver: driver)
  }

  // MARK: HostIOMMUDevices

  static func legacy(
    _ address: PCIAddress = address(), ranges: [IOVARange] = ranges39, pageSizes: UInt64 = pageSizes
  ) -> HostIOMMUDevice {
    HostIOMMUDevice(
      name: address.description, backend: .legacy,
      iovaRanges: Sourced(ranges, Provenance(.legacy, "VFIO_IOMMU_GET_INFO: VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE")),
      pageSizeMask: Sourced(pageSizes, Provenance(.legacy, "VFIO_IOMMU_GET_INFO: iova_pgsizes")),
      legacy: LegacyContainerInfo(iommuModel: 3, dmaMappingsAvailable: 65535, migrationCapable: true, unmapAll: true))
  }

  static func iommufd(
    _ address: PCIAddress = address(), ranges: [IOVARange] = ranges39, pageSizes: UInt64 = pageSizes,
    type: IOMMUHardwareType = .intelVTd,
    vendor: VendorCaps? = .intelVTd(flags: 1, capability: emulatedCap, extendedCapability: emulatedECAP),
    nesting: Bool = false
  ) -> HostIOMMUDevice {
    let origin = Provenance(.iommufd, "IOMMU_GET_HW_INFO")
    return HostIOMMUDevice(
      name: address.description, backend: .iommufd,
      caps: HostIOMMUDeviceCaps(
        type: Sourced(type, origin), hwCaps: Sourced(0, origin), maxPASIDLog2: Sourced(0, origin),
        vendor: vendor.map { Sourced($0, origin) }),
      iovaRanges: Sourced(ranges, Provenance(.iommufd, "IOMMU_IOAS_IOVA_RANGES")),
      pageSizeMask: Sourced(pageSizes, Provenance(.iommufd, "IOMMU_IOAS_IOVA_RANGES: out_iova_alignment")),
      nestingParent: NestingParentProbe(
        allowed: nesting, refusal: nesting ? nil : .notSupported,
        provenance: Provenance(.iommufd, "IOMMU_HWPT_ALLOC(NEST_PARENT)")),
      iommufd: IOMMUFDObjects(deviceID: 1, ioasID: 2, hwptID: 3, hwptFlags: 0))
  }

  static func sysfs(
    _ address: PCIAddress = address(), ranges: [IOVARange]? = ranges39, cap: UInt64 = emulatedCap,
    ecap: UInt64 = emulatedECAP
  ) -> HostIOMMUDevice {
    let origin = Provenance(.sysfs, "/sys/class/iommu/dmar0/intel-iommu/{cap,ecap}")
    return HostIOMMUDevice(
      name: address.description, backend: .sysfs,
      caps: HostIOMMUDeviceCaps(
        type: Sourced(.intelVTd, origin),
        vendor: Sourced(.intelVTd(flags: 0, capability: cap, extendedCapability: ecap), origin)),
      iovaRanges: ranges.map { Sourced($0, Provenance(.sysfs, "SAGAW/MGAW and reserved_regions")) },
      pageSizeMask: Sourced(pageSizes, Provenance(.sysfs, "/sys/class/iommu/dmar0/intel-iommu/cap (SLLPS)")))
  }

  // MARK: Realizations

  /// A device the kernel realized through `hiod`'s backend.
  static func realized(_ hiod: HostIOMMUDevice, device: PCIDevice? = nil, requested: BackendChoice? = nil)
    -> DeviceCheckInput
  {
    // What the kernel answered through iommufd is what a VM with iommufd= gets.
    let requested = requested ?? (hiod.backend == .iommufd ? .iommufd : .auto)
    let device = device ?? pciDevice(PCIAddress(hiod.name) ?? address())
    return DeviceCheckInput(
      device: device,
      realization: DeviceRealization(
        device: device, requested: requested,
        attempts: [RealizeAttempt(backend: hiod.backend, reason: "test", failure: nil)], hostIOMMUDevice: hiod))
  }

  /// A device whose kernel backend failed with `problem`, with an optional sysfs prediction.
  static func failed(
    _ problem: DeviceProblem, device: PCIDevice = pciDevice(), backend: HostIOMMUBackend = .legacy,
    errno: Errno? = nil, prediction: HostIOMMUDevice? = nil, requested: BackendChoice = .auto,
    group: IOMMUGroup? = nil, hints: [String] = ["a hint"]
  ) -> DeviceCheckInput {
    var attempts = [
      RealizeAttempt(
        backend: backend, reason: "test",
        failure: RealizeFailure(
          backend: backend, step: "open /dev/vfio/3", errno: errno, problem: problem, message: "it failed",
          hints: hints))
    ]
    attempts.append(RealizeAttempt(backend: .sysfs, reason: "fallback", failure: nil))
    return DeviceCheckInput(
      device: device,
      realization: DeviceRealization(
        device: device, requested: requested, attempts: attempts, hostIOMMUDevice: prediction),
      group: group)
  }

  // MARK: Hosts

  /// /dev/vfio/vfio and /dev/iommu, as every rig guest has them.
  static let nodes = (
    container: DeviceNode(path: "/dev/vfio/vfio", present: true), iommufd: DeviceNode(path: "/dev/iommu", present: true)
  )

  static let intelHost = HostFacts(
    iommuUnits: [
      IOMMUUnit(
        name: "dmar0", vendor: .intel,
        intelVTd: IntelVTdRegisters(version: "1:0", capability: emulatedCap, extendedCapability: emulatedECAP))
    ],
    iommuGroupCount: 4, vfioContainer: nodes.container, iommufd: nodes.iommufd, interruptRemapping: .enabled,
    cpuVendor: .intel)

  static let hardwareIntelHost = HostFacts(
    iommuUnits: [
      IOMMUUnit(
        name: "dmar0", vendor: .intel,
        intelVTd: IntelVTdRegisters(version: "1:0", capability: hardwareCap, extendedCapability: hardwareECAP))
    ],
    iommuGroupCount: 4, vfioContainer: nodes.container, iommufd: nodes.iommufd, interruptRemapping: .enabled,
    cpuVendor: .intel)

  static let armHost = HostFacts(
    iommuUnits: [IOMMUUnit(name: "smmu3.0x0000000009050000", vendor: .arm)], iommuGroupCount: 4,
    vfioContainer: nodes.container, iommufd: nodes.iommufd, interruptRemapping: .enabled)

  static let amdHost = HostFacts(
    iommuUnits: [IOMMUUnit(name: "ivhd0", vendor: .amd)], iommuGroupCount: 4, vfioContainer: nodes.container,
    iommufd: nodes.iommufd, interruptRemapping: .enabled, cpuVendor: .amd)

  // MARK: Configurations

  static func intel(
    _ qemu: String = "11.0", machine: String? = nil, _ change: (inout VIOMMUOptions) -> Void = { _ in }
  ) -> VIOMMUConfiguration {
    var options = VIOMMUOptions(cachingMode: true)
    change(&options)
    return VIOMMUConfiguration(
      model: .intel, qemu: QEMUVersion(qemu) ?? .newest, machine: machine.flatMap(MachineType.init), options: options)
  }

  static func configuration(
    _ model: VIOMMUModel, _ qemu: String = "11.0", machine: String? = nil,
    _ change: (inout VIOMMUOptions) -> Void = { _ in }
  ) -> VIOMMUConfiguration {
    var options = VIOMMUOptions()
    change(&options)
    return VIOMMUConfiguration(
      model: model, qemu: QEMUVersion(qemu) ?? .newest, machine: machine.flatMap(MachineType.init), options: options)
  }
}

extension DeviceVerdict {
  /// The finding with `check`, if any.
  func finding(_ check: String) -> Finding? { findings.first { $0.check == check } }

  /// The failing checks, in order.
  var failingChecks: [String] { findings.filter { $0.status == .fail }.map(\.check) }
}

extension CheckReport {
  /// The only device's verdict (tests with one device).
  var only: DeviceVerdict? { devices.count == 1 ? devices.first : nil }
}
