// hiodctl tests — arm-smmuv3 (emulated and accel=on) and amd-iommu: one row per QEMU
// message, the 11.0 and 10.2 boundaries.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Expected messages are typed from QEMU's source: hw/arm/smmuv3-accel.c (qemu @13b941aa) and
// hw/arm/smmuv3.c (`smmuv3_notify_flag_changed`) for arm-smmuv3, hw/i386/amd_iommu.c (the
// notifier refusal before 10.2, dma-remap from 10.2, 7e24cddf) for amd-iommu; the host
// registers are built from the IDR field positions of QEMU hw/arm/smmuv3-internal.h.

import Testing

@testable import HostIOMMU

private typealias F = VIOMMUFixtures

/// An SMMUv3 realized through iommufd whose IDRn is changed by `change`.
private func smmuDevice(
  nesting: Bool = true, type: IOMMUHardwareType = .armSMMUv3, _ change: (inout [UInt32]) -> Void = { _ in }
) -> DeviceCheckInput {
  var idr = F.smmuIDR
  change(&idr)
  let device = F.pciDevice(unit: "smmu3.0x0000000009050000")
  return F.realized(
    F.iommufd(
      ranges: F.ranges48, pageSizes: 0x4020_1000, type: type,
      vendor: .armSMMUv3(flags: 0, idr: idr, iidr: 0x43b, aidr: 0), nesting: nesting),
    device: device)
}

/// Clears `mask` in IDR `index` and sets `value` there.
private func field(_ index: Int, _ mask: UInt32, _ value: UInt32) -> (inout [UInt32]) -> Void {
  { idr in idr[index] = idr[index] & ~mask | value }
}

private let accel: @Sendable (inout VIOMMUOptions) -> Void = { $0.accel = true }

struct VIOMMUSMMUv3Tests {
  static let messages: [MessageCase] = [
    MessageCase(
      label: "emulated SMMUv3 (accel=off)", configuration: F.configuration(.smmuv3), devices: [smmuDevice()],
      host: F.armHost, check: "smmuv3.map-notifier",
      message:
        """
        vfio 0000:01:00.0: memory listener initialization failed: Region smmuv3-iommu-memory-region-0-8: \
        device 00.01.0 requires iommu MAP notifier which is not currently supported
        """
    ),
    MessageCase(
      label: "emulated SMMUv3 before 11.0", configuration: F.configuration(.smmuv3, "10.2"),
      devices: [
        DeviceCheckInput(
          device: smmuDevice().device, realization: smmuDevice().realization,
          guestPlacement: GuestPlacement(address: GuestPCIAddress(bus: 0, slot: 2, function: 0)))
      ],
      host: F.armHost, check: "smmuv3.map-notifier",
      message:
        """
        vfio 0000:01:00.0: memory listener initialization failed: Region smmuv3-iommu-memory-region-0-16: \
        device 00.02.0 requires iommu MAP notifier which is not currently supported
        """
    ),
    MessageCase(
      label: "accel=on, legacy backend", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [F.realized(F.legacy(ranges: F.ranges48), device: F.pciDevice(unit: "smmu3.0x0000000009050000"))],
      host: F.armHost, check: "smmuv3.accel.backend",
      message: "vfio-pci endpoint devices without an iommufd backend not allowed when using arm-smmuv3,accel=on"),
    MessageCase(
      label: "accel=on, wrong hw_info type", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [F.realized(F.iommufd(ranges: F.ranges48, nesting: true))], host: F.armHost,
      check: "smmuv3.accel.type",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Wrong data type (1) for Host SMMUv3 device info"),
    MessageCase(
      label: "STLEVEL", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(0, 3 << 27, 0))], host: F.armHost, check: "smmuv3.accel.stlevel",
      message:
        """
        vfio 0000:01:00.0: Failed to set vIOMMU: \
        Host SMMUv3 Stream Table format mismatch (host STLEVEL=0, QEMU STLEVEL=1)
        """
    ),
    MessageCase(
      label: "TTENDIAN big-endian only", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(0, 3 << 21, 3 << 21))], host: F.armHost, check: "smmuv3.accel.ttendian",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support Little-endian translation table"),
    MessageCase(
      label: "TTF AArch32 only", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(0, 3 << 2, 1 << 2))], host: F.armHost, check: "smmuv3.accel.ttf",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support AArch64 translation table format"),
    MessageCase(
      label: "SIDSIZE", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(1, 0x3f, 8))], host: F.armHost, check: "smmuv3.accel.sidsize",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 SIDSIZE not compatible (host=8, QEMU=16)"),
    MessageCase(
      label: "SSIDSIZE",
      configuration: F.configuration(.smmuv3) {
        $0.accel = true
        $0.ssidsize = 20
      },
      devices: [smmuDevice(field(1, 0x1f << 6, 10 << 6))], host: F.armHost, check: "smmuv3.accel.ssidsize",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 SSIDSIZE not compatible (host=10, QEMU=20)"),
    MessageCase(
      label: "RIL", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(3, 1 << 10, 0))], host: F.armHost, check: "smmuv3.accel.ril",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support Range Invalidation"),
    MessageCase(
      label: "OAS",
      configuration: F.configuration(.smmuv3) {
        $0.accel = true
        $0.oas = 48
      },
      devices: [smmuDevice(field(5, 7, 4))], host: F.armHost, check: "smmuv3.accel.oas",
      message:
        """
        vfio 0000:01:00.0: Failed to set vIOMMU: \
        Host SMMUv3 supports only 44-bit IPA, but the vSMMU OAS implies 48-bit IPA
        """
    ),
    MessageCase(
      label: "ATS",
      configuration: F.configuration(.smmuv3) {
        $0.accel = true
        $0.ats = true
      },
      devices: [smmuDevice(field(0, 1 << 10, 0))], host: F.armHost, check: "smmuv3.accel.ats",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support Address Translation Services"),
    MessageCase(
      label: "GRAN4K", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(5, 1 << 4, 0))], host: F.armHost, check: "smmuv3.accel.gran4k",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support 4K translation granule"),
    MessageCase(
      label: "GRAN16K", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(5, 1 << 5, 0))], host: F.armHost, check: "smmuv3.accel.gran16k",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support 16K translation granule"),
    MessageCase(
      label: "GRAN64K", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(field(5, 1 << 6, 0))], host: F.armHost, check: "smmuv3.accel.gran64k",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Host SMMUv3 doesn't support 64K translation granule"),
    MessageCase(
      label: "nesting parent refused", configuration: F.configuration(.smmuv3, "11.0", accel),
      devices: [smmuDevice(nesting: false)], host: F.armHost, check: "smmuv3.accel.nesting-parent",
      message: "vfio 0000:01:00.0: Failed to allocate hwpt: Operation not supported"),
    // Realize checks of arm-smmuv3 itself.
    MessageCase(
      label: "ril=off without accel", configuration: F.configuration(.smmuv3) { $0.ril = false },
      devices: [smmuDevice()], host: F.armHost, check: "smmuv3.ril", message: "ril can only be disabled if accel=on",
      device: nil),
    MessageCase(
      label: "ats=on without accel", configuration: F.configuration(.smmuv3) { $0.ats = true },
      devices: [smmuDevice()], host: F.armHost, check: "smmuv3.ats", message: "ats can only be enabled if accel=on",
      device: nil),
    MessageCase(
      label: "oas=48 without accel", configuration: F.configuration(.smmuv3, "11.1") { $0.oas = 48 },
      devices: [smmuDevice()], host: F.armHost, check: "smmuv3.oas",
      message: "oas must be 44 bits when accel=off", device: nil),
    MessageCase(
      label: "oas=48 without accel (11.0)", configuration: F.configuration(.smmuv3, "11.0") { $0.oas = 48 },
      devices: [smmuDevice()], host: F.armHost, check: "smmuv3.oas",
      message: "OAS can only be set to 44 bits if accel=off", device: nil),
    MessageCase(
      label: "ssidsize without accel", configuration: F.configuration(.smmuv3, "11.1") { $0.ssidsize = 4 },
      devices: [smmuDevice()], host: F.armHost, check: "smmuv3.ssidsize",
      message: "ssidsize can only be greater than 0 bits if accel=on", device: nil),
    MessageCase(
      label: "oas=52 with accel",
      configuration: F.configuration(.smmuv3, "11.1") {
        $0.accel = true
        $0.oas = 52
      },
      devices: [smmuDevice()], host: F.armHost, check: "smmuv3.oas",
      message: "QEMU SMMUv3 model only implements auto, 44 bit, or 48 bit OAS. Other OasMode values are not supported.",
      device: nil),
    MessageCase(
      label: "accel before 11.0", configuration: F.configuration(.smmuv3, "10.2", accel), devices: [smmuDevice()],
      host: F.armHost, check: "smmuv3.property.accel", message: "Property 'arm-smmuv3.accel' not found", device: nil),
    MessageCase(
      label: "smmuv3 on q35", configuration: F.configuration(.smmuv3, machine: "q35"), devices: [smmuDevice()],
      host: F.armHost, check: "machine.family", message: "arm-smmuv3 needs the Arm virt machine; q35 is not one",
      wording: .hiodctl, device: nil),
  ]

  @Test(arguments: messages)
  func message(_ row: MessageCase) throws {
    try expectMessage(row)
  }

  @Test func emulatedSMMUCaveatsAndRemedy() throws {
    let finding = try #require(
      VIOMMUChecker.check(F.configuration(.smmuv3), devices: [smmuDevice()], host: F.armHost).only?.finding(
        "smmuv3.map-notifier"))
    #expect(
      finding.message
        == """
        vfio 0000:01:00.0: memory listener initialization failed: Region smmuv3-iommu-memory-region-0-8: \
        device 00.01.0 requires iommu MAP notifier which is not currently supported
        """
    )
    #expect(finding.caveat?.contains("inferred") == true)
    #expect(finding.remedy?.qemu == "-device arm-smmuv3,primary-bus=pcie.0,accel=on")
    #expect(finding.remedy?.libvirt == nil)
  }

  @Test func acceleratedMatchingHostPasses() throws {
    let verdict = try #require(
      VIOMMUChecker.check(F.configuration(.smmuv3, "11.0", accel), devices: [smmuDevice()], host: F.armHost).only)
    #expect(verdict.status == .pass)
    #expect(
      verdict.findings.map(\.check) == [
        "vfio.realize", "smmuv3.accel.backend", "smmuv3.accel.nesting-parent", "smmuv3.accel.type", "smmuv3.accel.idr",
      ])
    #expect(verdict.finding("smmuv3.accel.idr")?.evidence.count == 11)
  }

  @Test func tunableMismatchesCarryTheirFix() throws {
    // No RIL and a 44-bit OAS with oas=48 requested: both are options.
    let verdict = try #require(
      VIOMMUChecker.check(
        F.configuration(.smmuv3) {
          $0.accel = true
          $0.oas = 48
        },
        devices: [
          smmuDevice { idr in
            field(3, 1 << 10, 0)(&idr)
            field(5, 7, 4)(&idr)
          }
        ], host: F.armHost
      ).only)
    #expect(verdict.failingChecks == ["smmuv3.accel.ril", "smmuv3.accel.oas"])
    #expect(
      verdict.finding("smmuv3.accel.oas")?.remedy?.qemu == "-device arm-smmuv3,primary-bus=pcie.0,accel=on,ril=off")
  }
}

struct VIOMMUAMDTests {
  static let device = F.realized(
    F.legacy(ranges: [IOVARange(start: 0, last: .max)]), device: F.pciDevice(unit: "ivhd0"))

  // QEMU's lines from the VM rig's oracle (10.0.13: the notifier refusal; 10.0.13 and
  // 7.2.22: "Property ... not found"). amd-iommu takes the first free root-bus slot
  // (00.01.0), so the assigned device is 00.02.0 in the guest.
  static let messages: [MessageCase] = [
    MessageCase(
      label: "before 10.2", configuration: F.configuration(.amd, "10.1"), devices: [device], host: F.amdHost,
      check: "amd.notifier",
      message:
        """
        vfio 0000:01:00.0: failed to setup container for group 3: memory listener initialization failed: \
        Region amd_iommu: device 00.02.0 requires iommu notifier which is not currently supported
        """
    ),
    MessageCase(
      label: "dma-remap before 10.2", configuration: F.configuration(.amd, "10.1") { $0.dmaRemap = true },
      devices: [device], host: F.amdHost, check: "amd.property.dma-remap",
      message: "Property 'amd-iommu.dma-remap' not found", device: nil),
    MessageCase(
      label: "amd-iommu on i440fx", configuration: F.configuration(.amd, machine: "pc"), devices: [device],
      host: F.amdHost, check: "machine.family",
      message: "Parameter 'driver' expects a dynamic sysbus device type for the machine", device: nil),
  ]

  @Test(arguments: messages)
  func message(_ row: MessageCase) throws {
    try expectMessage(row)
  }

  @Test(arguments: [
    ("10.1", false, QEMUVerdict.refuses), ("10.2", false, .dmaFails), ("10.2", true, .works), ("11.1", true, .works),
    ("11.1", false, .dmaFails),
  ])
  func dmaRemapBoundary(_ qemu: String, _ dmaRemap: Bool, _ expected: QEMUVerdict) {
    let configuration = F.configuration(.amd, qemu) { $0.dmaRemap = dmaRemap ? true : nil }
    let report = VIOMMUChecker.check(configuration, devices: [Self.device], host: F.amdHost)
    #expect(report.verdict == expected)
    #expect(report.only?.verdict == expected)
  }

  @Test func withoutDMARemapQEMUStartsAndTheDMAFails() throws {
    let report = VIOMMUChecker.check(F.configuration(.amd, "11.1"), devices: [Self.device], host: F.amdHost)
    #expect(report.qemuError == nil)
    let finding = try #require(report.only?.finding("amd.dma-remap"))
    #expect(finding.status == .fail)
    #expect(finding.effect == .dmaFails)
    #expect(finding.remedy?.qemu == "-device amd-iommu,dma-remap=on")
    #expect(
      finding.remedy?.libvirt
        == """
        <iommu model='amd'/>\n<qemu:commandline>\
        <qemu:arg value='-global'/><qemu:arg value='amd-iommu.dma-remap=on'/></qemu:commandline>
        """
    )
  }
}
