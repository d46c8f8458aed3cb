// hiodctl tests — virtio-iommu: page-size masks (intersection, narrowing, frozen granule),
// reserved-range consistency per requester ID, aw-bits, and the absent host-aw comparison.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Expected messages: the lines Debian's QEMU 10.0.13 and 11.1.3 printed in the VM rig's
// oracle (Tests/Fixtures/qemu-oracle; the page-size-mask line is the 64k-granule cell's),
// QEMU's %"PRIx64 formatting (lower-case hex, no padding).

import Testing

@testable import HostIOMMU

private typealias F = VIOMMUFixtures

struct VIOMMUVirtioTests {
  static func placed(
    _ hiod: HostIOMMUDevice, at address: GuestPCIAddress, alias: GuestPCIAddress? = nil, hotplug: Bool = false
  ) -> DeviceCheckInput {
    let input = F.realized(hiod)
    return DeviceCheckInput(
      device: input.device, realization: input.realization,
      guestPlacement: GuestPlacement(address: address, alias: alias), hotplug: hotplug)
  }

  static let bridge = GuestPCIAddress(bus: 1, slot: 0, function: 0)
  static let slot1 = GuestPCIAddress(bus: 2, slot: 1, function: 0)
  static let slot2 = GuestPCIAddress(bus: 2, slot: 2, function: 0)

  static let messages: [MessageCase] = [
    MessageCase(
      label: "page-size masks do not intersect",
      configuration: F.configuration(.virtio) { $0.granule = .k64 },
      devices: [F.realized(F.legacy(pageSizes: 0x1000))], check: "virtio.page-size-mask",
      message:
        """
        vfio 0000:01:00.0: Failed to set vIOMMU: 0000:01:00.0: virtio-iommu reports a page size mask 0x1000 \
        incompatible with currently supported mask 0xffffffffffff0000
        """
    ),
    MessageCase(
      label: "page-size masks do not intersect (9.1 prefix)",
      configuration: F.configuration(.virtio, "9.1") { $0.granule = .k64 },
      devices: [F.realized(F.legacy(pageSizes: 0x1000))], check: "virtio.page-size-mask",
      message:
        """
        vfio 0000:01:00.0: Failed to set iommu_device: 0000:01:00.0: virtio-iommu reports a page size mask 0x1000 \
        incompatible with currently supported mask 0xffffffffffff0000
        """
    ),
    MessageCase(
      label: "frozen granule on hot-plug", configuration: F.configuration(.virtio) { $0.granule = .k4 },
      devices: [
        F.realized(F.legacy()),
        placed(F.legacy(F.address(2), pageSizes: 0x4020_0000), at: slot2, hotplug: true),
      ],
      check: "virtio.granule.frozen",
      message:
        "vfio 0000:02:00.0: Failed to set vIOMMU: 0000:02:00.0: virtio-iommu does not support frozen granule 0x1000",
      device: 1),
    MessageCase(
      label: "two devices behind one bridge (aliased requester ID)", configuration: F.configuration(.virtio),
      devices: [
        placed(F.legacy(ranges: F.ranges48), at: slot1, alias: bridge),
        placed(F.legacy(F.address(2), ranges: F.ranges39), at: slot2, alias: bridge),
      ],
      check: "virtio.reserved-ranges",
      message:
        """
        vfio 0000:02:00.0: Failed to set vIOMMU: \
        virtio_iommu_set_host_iova_ranges virtio-iommu does not support aliased BDF
        """,
      device: 1),
    MessageCase(
      label: "host IOMMU device already exists", configuration: F.configuration(.virtio),
      devices: [
        placed(F.legacy(), at: slot1),
        placed(F.legacy(F.address(2)), at: slot1),
      ],
      check: "virtio.host-iommu-device.duplicate",
      message: "vfio 0000:02:00.0: Failed to set vIOMMU: Host IOMMU device already exists", device: 1),
    MessageCase(
      label: "aw-bits out of range", configuration: F.configuration(.virtio) { $0.awBits = 30 },
      devices: [F.realized(F.legacy())], check: "virtio.aw-bits.range", message: "aw-bits must be within [32,64]",
      device: nil),
    MessageCase(
      label: "aw-bits out of range (high)", configuration: F.configuration(.virtio) { $0.awBits = 65 },
      devices: [F.realized(F.legacy())], check: "virtio.aw-bits.range", message: "aw-bits must be within [32,64]",
      device: nil),
  ]

  @Test(arguments: messages)
  func message(_ row: MessageCase) throws {
    try expectMessage(row)
  }

  @Test func incompatibleMaskSuggestsAGranule() throws {
    let finding = try #require(
      VIOMMUChecker.check(
        F.configuration(.virtio) { $0.granule = .k64 }, devices: [F.realized(F.legacy(pageSizes: 0x1000))],
        host: F.intelHost
      ).only?.finding("virtio.page-size-mask"))
    #expect(finding.remedy?.qemu == "-device virtio-iommu-pci,granule=4k")
    #expect(
      finding.remedy?.libvirt
        == """
        <iommu model='virtio'/>\n<qemu:commandline>\
        <qemu:arg value='-global'/><qemu:arg value='virtio-iommu-pci.granule=4k'/></qemu:commandline>
        """
    )
  }

  @Test func coldPlugNarrowsTheMask() throws {
    // The same second device that fails hot-plugged is accepted cold-plugged: it narrows
    // the mask to 2M|1G.
    let report = VIOMMUChecker.check(
      F.configuration(.virtio) { $0.granule = .k4 },
      devices: [F.realized(F.legacy()), Self.placed(F.legacy(F.address(2), pageSizes: 0x4020_0000), at: Self.slot2)],
      host: F.intelHost)
    #expect(report.devices.map(\.status) == [.pass, .pass])
    let second = try #require(report.devices[1].finding("virtio.page-size-mask"))
    #expect(second.message.contains("0x40200000"))
    #expect(second.caveat?.contains("0x200000") == true)
  }

  @Test func hotPluggedDevicesComeAfterColdOnes() throws {
    // Listed first but hot-plugged: it meets the mask the cold-plugged device left
    // (2M|1G, granule 2M), which it intersects (1G) but whose granule it lacks.
    let report = VIOMMUChecker.check(
      F.configuration(.virtio) { $0.granule = .k4 },
      devices: [
        Self.placed(F.legacy(F.address(2), pageSizes: 0x4000_1000), at: Self.slot2, hotplug: true),
        F.realized(F.legacy(pageSizes: 0x4020_0000)),
      ], host: F.intelHost)
    #expect(report.devices.map(\.status) == [.fail, .pass])
    #expect(report.devices[0].finding("virtio.granule.frozen")?.message.hasSuffix("frozen granule 0x200000") == true)
  }

  @Test func aliasedDevicesAreRefusedWhateverTheirRanges() throws {
    // Since 9.1 a second device behind the same bridge is refused even when its reserved
    // ranges would fit the first one's (9.0 compared them).
    let report = VIOMMUChecker.check(
      F.configuration(.virtio),
      devices: [
        Self.placed(F.legacy(ranges: F.ranges39), at: Self.slot1, alias: Self.bridge),
        Self.placed(F.legacy(F.address(2), ranges: F.ranges39), at: Self.slot2, alias: Self.bridge),
      ], host: F.intelHost)
    #expect(report.devices.map(\.status) == [.pass, .fail])
    #expect(
      report.devices[1].finding("virtio.reserved-ranges")?.message.hasSuffix("does not support aliased BDF") == true)
  }

  @Test func beforeQEMU9_1NoHostDeviceIsCheckedAtPlug() throws {
    // No set_iommu_device before 9.1: the 64k granule a 4k-only host cannot serve is not
    // refused when the device is plugged.
    let report = VIOMMUChecker.check(
      F.configuration(.virtio, "9.0") { $0.granule = .k64 }, devices: [F.realized(F.legacy(pageSizes: 0x1000))],
      host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .pass)
    #expect(verdict.finding("virtio.host-iommu-device")?.caveat?.contains("guest enables translation") == true)
  }

  @Test func reservedRangesAreTheComplement() {
    #expect(
      VirtioIOMMUChecks.reservedRanges(complementing: F.ranges39) == [
        IOVARange(start: 0xfee0_0000, last: 0xfeef_ffff), IOVARange(start: 0x80_0000_0000, last: .max),
      ])
    #expect(VirtioIOMMUChecks.reservedRanges(complementing: [IOVARange(start: 0, last: .max)]) == [])
    #expect(
      VirtioIOMMUChecks.reservedRanges(complementing: [IOVARange(start: 0x1000, last: .max)]) == [
        IOVARange(start: 0, last: 0xfff)
      ])
  }

  @Test func noHostAWComparison() throws {
    // aw-bits 48 on a 39-bit host: intel-iommu would refuse; virtio-iommu reserves the top.
    let report = VIOMMUChecker.check(
      F.configuration(.virtio) { $0.awBits = 48 }, devices: [F.realized(F.legacy())], host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .pass)
    let note = try #require(verdict.finding("virtio.aw-bits.host"))
    #expect(note.status == .pass)
    #expect(
      note.message
        == "virtio-iommu does not compare aw-bits with the host; a host narrower than aw-bits becomes a reserved range")
    // q35's default 39 on the same host: nothing to say.
    let quiet = VIOMMUChecker.check(F.configuration(.virtio), devices: [F.realized(F.legacy())], host: F.intelHost)
    #expect(quiet.only?.finding("virtio.aw-bits.host") == nil)
  }

  @Test func emptyRangesSkipBothChecks() throws {
    let oldKernel = F.realized(F.legacy(ranges: [], pageSizes: 0x1000))
    let report = VIOMMUChecker.check(
      F.configuration(.virtio) { $0.granule = .k64 }, devices: [oldKernel], host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .pass)
    #expect(verdict.finding("virtio.iova-ranges")?.status == .pass)
    #expect(verdict.finding("virtio.page-size-mask") == nil)
    #expect(verdict.finding("virtio.reserved-ranges") == nil)
  }

  @Test func unknownRangesAreUndetermined() throws {
    let input = F.failed(.busy, prediction: F.sysfs(ranges: nil))
    let verdict = try #require(VIOMMUChecker.check(F.configuration(.virtio), devices: [input], host: F.intelHost).only)
    #expect(verdict.finding("virtio.iova-ranges")?.status == .undetermined)
    #expect(verdict.status == .undetermined)
  }

  @Test func armHostDefaultsToVirt48() throws {
    let report = VIOMMUChecker.check(
      VIOMMUConfiguration(model: .virtio, architecture: .x86), devices: [], host: F.armHost)
    #expect(report.configuration.architecture == .arm)
    #expect(report.configuration.awBits?.value == 48)
  }
}
