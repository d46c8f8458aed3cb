// hiodctl tests — suggestions: the configuration every given device accepts, and what
// blocks the alternatives.
// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import HostIOMMU

private typealias F = VIOMMUFixtures

struct VIOMMUSuggestTests {
  static let hardware = F.realized(
    F.iommufd(
      ranges: F.ranges48,
      vendor: .intelVTd(flags: 1, capability: F.hardwareCap, extendedCapability: F.hardwareECAP), nesting: true))

  @Test func intelTakesTheNarrowestHost() throws {
    let devices = [F.realized(F.legacy(ranges: F.ranges48)), F.realized(F.legacy(F.address(2)))]
    let suggestion = VIOMMUSuggester.suggest(
      model: .intel, qemu: .newest, machine: nil, devices: devices, host: F.intelHost)
    let configuration = try #require(suggestion.configuration)
    #expect(configuration.qemuDeviceOption == "-device intel-iommu,caching-mode=on,aw-bits=39")
    #expect(suggestion.report?.status == .pass)
    #expect(suggestion.explanation.contains { $0.contains("0000:02:00.0") && $0.hasPrefix("aw-bits=39") })
    #expect(
      suggestion.explanation.contains("fsts is not possible:")
        && suggestion.explanation.contains { $0.hasPrefix("  - ") && $0.contains("Failed to allocate hwpt") })
    #expect(suggestion.alternatives.isEmpty)
  }

  @Test func intelXFltsPossibleOnHardware() throws {
    let suggestion = VIOMMUSuggester.suggest(
      model: .intel, qemu: .newest, machine: nil, devices: [Self.hardware], host: F.hardwareIntelHost)
    #expect(suggestion.configuration?.qemuDeviceOption == "-device intel-iommu,caching-mode=on,aw-bits=48")
    let alternative = try #require(suggestion.alternatives.first)
    #expect(
      alternative.qemuDeviceOption == "-device intel-iommu,caching-mode=on,aw-bits=48,scalable-mode=on,fsts=on")
    #expect(VIOMMUChecker.check(alternative, devices: [Self.hardware], host: F.hardwareIntelHost).status == .pass)
    #expect(suggestion.explanation.contains { $0.hasPrefix("fsts is possible") })
    // 11.0 spells it x-flts.
    let older = VIOMMUSuggester.suggest(
      model: .intel, qemu: QEMUVersion(major: 11, minor: 0), machine: nil, devices: [Self.hardware],
      host: F.hardwareIntelHost)
    #expect(
      older.alternatives.first?.qemuDeviceOption
        == "-device intel-iommu,caching-mode=on,aw-bits=48,x-scalable-mode=on,x-flts=on")
  }

  @Test func intelXFltsBlockedOnTheEmulatedUnit() {
    let suggestion = VIOMMUSuggester.suggest(
      model: .intel, qemu: .newest, machine: nil, devices: [F.realized(F.iommufd(ranges: F.ranges48))],
      host: F.intelHost)
    #expect(suggestion.alternatives.isEmpty)
    #expect(
      suggestion.explanation.contains("fsts is not possible:")
        && suggestion.explanation.contains { $0.hasPrefix("  - ") && $0.contains("Failed to allocate hwpt") })
  }

  @Test(arguments: [("9.2", "has no x-flts"), ("10.1", "10.0–10.2 refuse")])
  func intelXFltsNeeds110(_ qemu: String, _ reason: String) {
    let suggestion = VIOMMUSuggester.suggest(
      model: .intel, qemu: QEMUVersion(qemu) ?? .newest, machine: nil, devices: [Self.hardware],
      host: F.hardwareIntelHost)
    #expect(suggestion.explanation.contains { $0.contains(reason) })
  }

  @Test func intelHostBelow39HasNoConfiguration() {
    let narrow = F.realized(F.legacy(ranges: [IOVARange(start: 0, last: 0xf_ffff_ffff)]))
    let suggestion = VIOMMUSuggester.suggest(
      model: .intel, qemu: .newest, machine: nil, devices: [narrow], host: F.intelHost)
    #expect(suggestion.configuration == nil)
    #expect(suggestion.explanation.last?.contains("virtio-iommu") == true)
  }

  @Test func intelReportsHostProblemsLeft() {
    let blocked = F.failed(.groupNotViable, prediction: F.sysfs())
    let suggestion = VIOMMUSuggester.suggest(
      model: .intel, qemu: .newest, machine: nil, devices: [blocked], host: F.intelHost)
    #expect(suggestion.configuration?.options.awBits == 39)
    #expect(suggestion.explanation.contains { $0.contains("remains fail") && $0.contains("group 3 is not viable") })
  }

  @Test func virtioGranuleAndWidth() throws {
    let devices = [
      F.realized(F.legacy()), F.realized(F.legacy(F.address(2), ranges: F.ranges48, pageSizes: 0x4020_1000)),
    ]
    let suggestion = VIOMMUSuggester.suggest(
      model: .virtio, qemu: .newest, machine: nil, devices: devices, host: F.intelHost)
    #expect(suggestion.configuration?.qemuDeviceOption == "-device virtio-iommu-pci,aw-bits=39,granule=4k")
    #expect(suggestion.report?.status == .pass)
  }

  @Test func virtioWithoutACommonPageSize() {
    let devices = [F.realized(F.legacy(pageSizes: 0x1000)), F.realized(F.legacy(F.address(2), pageSizes: 0x20_0000))]
    let suggestion = VIOMMUSuggester.suggest(
      model: .virtio, qemu: .newest, machine: nil, devices: devices, host: F.intelHost)
    #expect(suggestion.configuration == nil)
  }

  @Test func smmuv3() throws {
    let device = F.realized(
      F.iommufd(
        ranges: F.ranges48, type: .armSMMUv3, vendor: .armSMMUv3(flags: 0, idr: F.smmuIDR, iidr: 0, aidr: 0),
        nesting: true))
    let old = VIOMMUSuggester.suggest(
      model: .smmuv3, qemu: QEMUVersion(major: 10, minor: 2), machine: nil, devices: [device], host: F.armHost)
    #expect(old.configuration == nil)
    let suggestion = VIOMMUSuggester.suggest(
      model: .smmuv3, qemu: .newest, machine: nil, devices: [device], host: F.armHost)
    #expect(suggestion.configuration?.qemuDeviceOption == "-device arm-smmuv3,primary-bus=pcie.0,accel=on,oas=48")
    #expect(suggestion.report?.status == .pass)
    #expect(suggestion.alternatives.first?.options.ats == true)
    #expect(suggestion.explanation.contains { $0.contains("ssidsize up to 20") })

    let legacy = F.realized(F.legacy(ranges: F.ranges48))
    let blocked = VIOMMUSuggester.suggest(
      model: .smmuv3, qemu: .newest, machine: nil, devices: [legacy], host: F.armHost)
    // Realized through the legacy container only: whether the host can nest is unknown.
    #expect(blocked.report?.status == .undetermined)
    #expect(blocked.explanation.last?.contains("only the iommufd backend can try") == true)
  }

  @Test(arguments: [("10.1", false), ("10.2", true)])
  func amd(_ qemu: String, _ possible: Bool) {
    let suggestion = VIOMMUSuggester.suggest(
      model: .amd, qemu: QEMUVersion(qemu) ?? .newest, machine: nil, devices: [F.realized(F.legacy())], host: F.amdHost)
    #expect((suggestion.configuration != nil) == possible)
    if possible {
      #expect(suggestion.configuration?.qemuDeviceOption == "-device amd-iommu,dma-remap=on")
      #expect(suggestion.report?.status == .pass)
    }
  }
}
