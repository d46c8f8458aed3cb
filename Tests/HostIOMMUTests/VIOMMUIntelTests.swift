// hiodctl tests — intel-iommu: one row per QEMU message, the release boundaries, the issue's
// key scenarios, QEMU's order and the remedies.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Expected messages are typed from QEMU's source — hw/i386/intel_iommu.c (vtd_decide_config,
// vtd_dev_set_iommu_device, vtd_check_hiod; qemu @cac33cb5) and hw/i386/intel_iommu_accel.c
// (vtd_check_hiod_accel, @554a719e) — and, for older releases and rows marked "observed",
// from those releases' text; not copied from the implementation.

import SystemPackage
import Testing

@testable import HostIOMMU

/// One row: a situation and the exact message QEMU prints for it.
struct MessageCase: Sendable, CustomTestStringConvertible {
  var label: String
  var configuration: VIOMMUConfiguration
  var devices: [DeviceCheckInput]
  var host: HostFacts = VIOMMUFixtures.intelHost
  /// The check id that fails.
  var check: String
  var message: String
  var wording: MessageWording = .qemu
  /// Which device's findings (index); nil: a configuration finding.
  var device: Int? = 0

  var testDescription: String { label }
}

/// Runs a message row: the named check fails with exactly the message.
func expectMessage(_ row: MessageCase, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let report = VIOMMUChecker.check(row.configuration, devices: row.devices, host: row.host)
  let findings = row.device.map { report.devices[$0].findings } ?? report.configurationFindings
  let finding = try #require(
    findings.first { $0.check == row.check }, "no \(row.check) in \(findings.map(\.check))",
    sourceLocation: sourceLocation)
  #expect(finding.status == .fail, sourceLocation: sourceLocation)
  #expect(finding.message == row.message, sourceLocation: sourceLocation)
  #expect(finding.wording == row.wording, sourceLocation: sourceLocation)
  #expect(!finding.qemuVersions.isEmpty, sourceLocation: sourceLocation)
  if let device = row.device {
    #expect(report.devices[device].status == .fail, sourceLocation: sourceLocation)
  } else {
    #expect(report.devices.allSatisfy { $0.status == .fail }, sourceLocation: sourceLocation)
  }
}

private typealias F = VIOMMUFixtures

/// A device input with a short name for the test log.
struct LabeledInput: Sendable, CustomTestStringConvertible {
  var label: String
  var input: DeviceCheckInput

  init(_ label: String, _ input: DeviceCheckInput) {
    self.label = label
    self.input = input
  }

  var testDescription: String { label }
}

struct VIOMMUIntelTests {
  static let legacy39 = F.realized(F.legacy())
  static let legacy48 = F.realized(F.legacy(ranges: F.ranges48))
  static let firstStage: @Sendable (inout VIOMMUOptions) -> Void = {
    $0.scalableMode = true
    $0.xFlts = true
    $0.awBits = 48
  }
  /// An iommufd device on a hardware-like unit: nests, 48 bits, FS1GP.
  static let hardware = F.realized(
    F.iommufd(
      ranges: F.ranges48,
      vendor: .intelVTd(flags: 1, capability: F.hardwareCap, extendedCapability: F.hardwareECAP), nesting: true))

  static let messages: [MessageCase] = [
    // vtd_dev_set_iommu_device / vtd_check_hiod
    MessageCase(
      label: "aw-bits > host (10.0+ prefix)", configuration: F.intel { $0.awBits = 48 }, devices: [legacy39],
      check: "intel.aw-bits", message: "vfio 0000:01:00.0: Failed to set vIOMMU: aw-bits 48 > host aw-bits 39"),
    MessageCase(
      label: "aw-bits > host (9.1–9.2 prefix)", configuration: F.intel("9.2") { $0.awBits = 48 }, devices: [legacy39],
      check: "intel.aw-bits", message: "vfio 0000:01:00.0: Failed to set iommu_device: aw-bits 48 > host aw-bits 39"),
    MessageCase(
      label: "caching-mode off, 10.2 (set_iommu_device)",
      configuration: F.intel("10.2") { $0.cachingMode = false }, devices: [legacy39], check: "intel.caching-mode",
      message:
        """
        vfio 0000:01:00.0: Failed to set vIOMMU: \
        Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU.
        """
    ),
    MessageCase(
      label: "caching-mode off, 10.1 (machine-init-done)",
      configuration: F.intel("10.1") { $0.cachingMode = false }, devices: [legacy39], check: "intel.caching-mode",
      message: "We need to set caching-mode=on for intel-iommu to enable device assignment with IOMMU protection."),
    MessageCase(
      label: "caching-mode off, 10.1 hot-plug", configuration: F.intel("10.1") { $0.cachingMode = false },
      devices: [DeviceCheckInput(device: legacy39.device, realization: legacy39.realization, hotplug: true)],
      check: "intel.caching-mode",
      message: "Device assignment is not allowed without enabling caching-mode=on for Intel IOMMU."),
    MessageCase(
      label: "host IOMMU device already exist",
      configuration: F.intel { $0.awBits = 39 },
      devices: [
        DeviceCheckInput(
          device: legacy39.device, realization: legacy39.realization,
          guestPlacement: GuestPlacement(address: GuestPCIAddress(bus: 1, slot: 0, function: 0))),
        DeviceCheckInput(
          device: F.pciDevice(F.address(2)), realization: F.realized(F.legacy(F.address(2))).realization,
          guestPlacement: GuestPlacement(address: GuestPCIAddress(bus: 1, slot: 0, function: 0))),
      ],
      check: "intel.host-iommu-device.duplicate",
      message: "vfio 0000:02:00.0: Failed to set vIOMMU: Host IOMMU device already exist", device: 1),
    // x-flts
    MessageCase(
      label: "x-flts in 10.0–10.2", configuration: F.intel("10.2", firstStage), devices: [legacy48],
      check: "intel.x-flts",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: host device is uncompatible with stage-1 translation"),
    MessageCase(
      label: "x-flts, legacy backend (11.0)", configuration: F.intel("11.0", firstStage), devices: [legacy48],
      check: "intel.x-flts.backend",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Need IOMMUFD backend when x-flts=on"),
    MessageCase(
      label: "x-flts, host IOMMU not VT-d", configuration: F.intel("11.0", firstStage),
      devices: [F.realized(F.iommufd(ranges: F.ranges48, type: .amd, vendor: .amd(efr: 0, efr2: 0), nesting: true))],
      check: "intel.x-flts.type",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: Incompatible host platform IOMMU type 4"),
    MessageCase(
      label: "x-flts, fs1gp without CAP.FS1GP", configuration: F.intel("11.0", firstStage),
      devices: [
        F.realized(
          F.iommufd(
            ranges: F.ranges48,
            vendor: .intelVTd(flags: 1, capability: F.emulatedCap, extendedCapability: F.hardwareECAP),
            nesting: true))
      ],
      check: "intel.x-flts.fs1gp",
      message: "vfio 0000:01:00.0: Failed to set vIOMMU: First stage 1GB large page is unsupported by host IOMMU"),
    MessageCase(
      label: "x-flts, behind a PCI bridge in the guest", configuration: F.intel("11.0", firstStage),
      devices: [
        DeviceCheckInput(
          device: hardware.device, realization: hardware.realization,
          guestPlacement: GuestPlacement(
            address: GuestPCIAddress(bus: 2, slot: 1, function: 0), alias: GuestPCIAddress(bus: 1, slot: 0, function: 0)
          ))
      ],
      check: "intel.x-flts.pci-bridge",
      message:
        """
        vfio 0000:01:00.0: Failed to set vIOMMU: \
        Host device downstream to a PCI bridge is unsupported when x-flts=on
        """),
    MessageCase(
      label: "x-flts, kernel refuses the nesting parent (emulated VT-d)", configuration: F.intel("11.0", firstStage),
      devices: [F.realized(F.iommufd(ranges: F.ranges48))], check: "intel.x-flts.nesting-parent",
      message: "vfio 0000:01:00.0: Failed to allocate hwpt: Operation not supported"),
    // vtd_decide_config and property parsing: configuration findings
    MessageCase(
      label: "x-flts without scalable mode",
      configuration: F.intel {
        $0.xFlts = true
        $0.awBits = 48
      }, devices: [hardware], check: "intel.x-flts.scalable-mode", message: "x-flts is only available in scalable mode",
      device: nil),
    MessageCase(
      label: "aw-bits not allowed, legacy mode", configuration: F.intel { $0.awBits = 40 }, devices: [legacy48],
      check: "intel.aw-bits.allowed", message: "Legacy mode: supported values for aw-bits are: 39, 48", device: nil),
    MessageCase(
      label: "aw-bits not allowed, scalable mode",
      configuration: F.intel {
        $0.awBits = 57
        $0.scalableMode = true
      }, devices: [legacy48], check: "intel.aw-bits.allowed",
      message: "Scalable mode(flts=off): supported values for aw-bits are: 39, 48", device: nil),
    MessageCase(
      label: "aw-bits not allowed before 10.0", configuration: F.intel("9.2") { $0.awBits = 40 }, devices: [legacy48],
      check: "intel.aw-bits.allowed", message: "Supported values for aw-bits are: 39, 48", device: nil),
    MessageCase(
      label: "x-flts with aw-bits 39",
      configuration: F.intel {
        $0.scalableMode = true
        $0.xFlts = true
        $0.awBits = 39
      }, devices: [hardware], check: "intel.aw-bits.allowed",
      message: "Scalable mode(x-flts=on): supported value for aw-bits is: 48", device: nil),
    MessageCase(
      label: "x-flts with aw-bits 39 (10.0, observed)",
      configuration: F.intel("10.0") {
        $0.scalableMode = true
        $0.xFlts = true
        $0.awBits = 39
      }, devices: [hardware], check: "intel.aw-bits.allowed",
      message: "Scalable mode(flts=on): supported value for aw-bits is: 48", device: nil),
    MessageCase(
      label: "x-flts before 10.0", configuration: F.intel("9.2", firstStage), devices: [legacy48],
      check: "intel.property.x-flts", message: "Property 'intel-iommu.x-flts' not found", device: nil),
    MessageCase(
      label: "fs1gp before 10.0", configuration: F.intel("9.1") { $0.fs1gp = false }, devices: [legacy48],
      check: "intel.property.fs1gp", message: "Property 'intel-iommu.fs1gp' not found", device: nil),
    MessageCase(
      label: "virtio's granule on intel", configuration: F.intel { $0.granule = .k4 }, devices: [legacy48],
      check: "intel.property.granule", message: "Property 'intel-iommu.granule' not found", device: nil),
    MessageCase(
      label: "intel-iommu on i440fx", configuration: F.intel(machine: "pc-i440fx-9.2"), devices: [legacy48],
      check: "machine.family", message: "Parameter 'driver' expects a dynamic sysbus device type for the machine",
      device: nil),
    MessageCase(
      label: "machine newer than QEMU", configuration: F.intel("10.0", machine: "pc-q35-10.1"), devices: [legacy48],
      check: "machine.version", message: "unsupported machine type", device: nil),
  ]

  @Test(arguments: messages)
  func message(_ row: MessageCase) throws {
    try expectMessage(row)
  }

  // MARK: The key scenarios

  @Test func awBits48OnA39BitHostFailsWithTheFix() throws {
    let report = VIOMMUChecker.check(F.intel { $0.awBits = 48 }, devices: [Self.legacy39], host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .fail)
    let finding = try #require(verdict.finding("intel.aw-bits"))
    #expect(finding.message.hasSuffix("Failed to set vIOMMU: aw-bits 48 > host aw-bits 39"))
    #expect(finding.evidence.contains { $0.hasPrefix("host aw_bits 39 (legacy: VFIO_IOMMU_GET_INFO") })
    #expect(!finding.predicted)
    let remedy = try #require(finding.remedy)
    #expect(remedy.qemu == "-device intel-iommu,caching-mode=on,aw-bits=39")
    #expect(remedy.libvirt == "<iommu model='intel'><driver caching_mode='on' aw_bits='39'/></iommu>")
    #expect(remedy.summary.contains("39"))
  }

  @Test func awBits39Passes() throws {
    let report = VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [Self.legacy39], host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .pass)
    #expect(verdict.finding("intel.aw-bits")?.status == .pass)
    #expect(report.status == .pass)
  }

  @Test(arguments: [("9.1", FindingStatus.pass), ("9.2", .pass), ("10.0", .fail), ("11.0", .fail)])
  func defaultAWBitsPerRelease(_ qemu: String, _ expected: FindingStatus) throws {
    let report = VIOMMUChecker.check(F.intel(qemu), devices: [Self.legacy39], host: F.intelHost)
    #expect(report.only?.status == expected)
    let finding = try #require(report.only?.finding("intel.aw-bits"))
    #expect(finding.status == expected)
    if expected == .fail {
      #expect(finding.message == "vfio 0000:01:00.0: Failed to set vIOMMU: aw-bits 48 > host aw-bits 39")
      #expect(finding.evidence.contains { $0.contains("QEMU 10.0 and later default to 48") })
    }
  }

  @Test(arguments: [("pc-q35-9.1", FindingStatus.pass), ("pc-q35-9.2", .fail), ("pc-q35-10.0", .fail)])
  func defaultAWBitsPerMachine(_ machine: String, _ expected: FindingStatus) {
    let report = VIOMMUChecker.check(F.intel("10.0", machine: machine), devices: [Self.legacy39], host: F.intelHost)
    #expect(report.only?.status == expected)
  }

  @Test(arguments: [("9.0", FindingStatus.pass), ("9.1", .fail)])
  func awBitsCheckArrivesIn91(_ qemu: String, _ expected: FindingStatus) throws {
    let report = VIOMMUChecker.check(F.intel(qemu) { $0.awBits = 48 }, devices: [Self.legacy39], host: F.intelHost)
    let finding = try #require(report.only?.finding("intel.aw-bits"))
    #expect(finding.status == expected)
    if expected == .pass { #expect(finding.caveat?.contains("QEMU cannot map those") == true) }
  }

  @Test func xFltsWithLegacyNeedsIOMMUFD() throws {
    let report = VIOMMUChecker.check(F.intel("11.0", Self.firstStage), devices: [Self.legacy48], host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .fail)
    let finding = try #require(verdict.finding("intel.x-flts.backend"))
    #expect(finding.message.hasSuffix("Need IOMMUFD backend when x-flts=on"))
    #expect(finding.remedy?.qemu == "-object iommufd,id=iommufd0 -device vfio-pci,host=0000:01:00.0,iommufd=iommufd0")
    // QEMU stops there; the type check after it is a prediction from sysfs, not reached.
    let type = try #require(verdict.finding("intel.x-flts.type"))
    #expect(type.qemuStopsEarlierAt == "intel.x-flts.backend")
    #expect(type.predicted)
    // No nesting-parent HWPT with the legacy backend.
    #expect(verdict.finding("intel.x-flts.nesting-parent") == nil)
  }

  @Test func xFltsOnTheEmulatedUnitIsRefused() throws {
    let report = VIOMMUChecker.check(
      F.intel("11.0", Self.firstStage), devices: [F.realized(F.iommufd(ranges: F.ranges48))], host: F.intelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .fail)
    // Attach (nesting parent) comes before set_iommu_device, so it is QEMU's first error.
    let failing = verdict.failingChecks
    #expect(failing.first == "intel.x-flts.nesting-parent")
    #expect(failing.contains("intel.x-flts.fs1gp"))
    let nesting = try #require(verdict.finding("intel.x-flts.nesting-parent"))
    #expect(nesting.message == "vfio 0000:01:00.0: Failed to allocate hwpt: Operation not supported")
    #expect(nesting.evidence.contains { $0.contains("EOPNOTSUPP") })
    #expect(nesting.remedy?.summary.contains("turn x-flts off") == true)
    // The cumulative fix turns x-flts off and keeps the rest.
    #expect(nesting.remedy?.qemu == "-device intel-iommu,caching-mode=on,aw-bits=48,x-scalable-mode=on")
    #expect(verdict.finding("intel.x-flts.fs1gp")?.qemuStopsEarlierAt == "intel.x-flts.nesting-parent")
  }

  @Test func xFltsOnHardwarePasses() throws {
    let report = VIOMMUChecker.check(
      F.intel("11.0", Self.firstStage), devices: [Self.hardware], host: F.hardwareIntelHost)
    let verdict = try #require(report.only)
    #expect(verdict.failingChecks == [])
    #expect(verdict.status == .pass)
    #expect(verdict.finding("intel.x-flts.pci-bridge")?.caveat?.contains("PCIe root port") == true)
    #expect(verdict.finding("intel.x-flts.nesting-parent")?.evidence.contains { $0.contains("ERRATA_772415") } == true)
    #expect(
      verdict.findings.map(\.check) == [
        "vfio.realize", "intel.x-flts.nesting-parent", "intel.caching-mode", "intel.aw-bits", "intel.x-flts.backend",
        "intel.x-flts.type", "intel.x-flts.fs1gp", "intel.x-flts.pci-bridge",
      ])
  }

  @Test func xFltsNestingPredictedFromSysfs() throws {
    let busy = F.failed(
      .busy, backend: .iommufd, errno: .resourceBusy,
      prediction: F.sysfs(ranges: F.ranges48, cap: F.hardwareCap, ecap: F.hardwareECAP), requested: .iommufd)
    let report = VIOMMUChecker.check(F.intel("11.0", Self.firstStage), devices: [busy], host: F.hardwareIntelHost)
    let verdict = try #require(report.only)
    #expect(verdict.status == .undetermined)
    let nesting = try #require(verdict.finding("intel.x-flts.nesting-parent"))
    #expect(nesting.status == .pass)
    #expect(nesting.predicted)
    #expect(nesting.caveat?.contains("sm_on") == true)

    let emulated = F.failed(.busy, backend: .iommufd, prediction: F.sysfs(ranges: F.ranges48), requested: .iommufd)
    let refused = VIOMMUChecker.check(F.intel("11.0", Self.firstStage), devices: [emulated], host: F.intelHost)
    #expect(refused.only?.finding("intel.x-flts.nesting-parent")?.status == .fail)
    #expect(refused.only?.status == .fail)
  }

  @Test(arguments: [
    LabeledInput("legacy", F.realized(F.legacy())), LabeledInput("iommufd", F.realized(F.iommufd())),
    LabeledInput("busy, sysfs prediction", F.failed(.busy, prediction: F.sysfs())),
  ])
  func cachingModeOffFailsAnyDevice(_ row: LabeledInput) {
    let input = row.input
    for qemu in ["10.1", "10.2", "11.0"] {
      let report = VIOMMUChecker.check(
        F.intel(qemu) {
          $0.cachingMode = false
          $0.awBits = 39
        }, devices: [input], host: F.intelHost)
      #expect(report.only?.status == .fail)
      #expect(report.only?.finding("intel.caching-mode")?.status == .fail)
      #expect(
        report.only?.finding("intel.caching-mode")?.remedy?.qemu == "-device intel-iommu,caching-mode=on,aw-bits=39")
    }
  }

  // MARK: Order and shadowing

  @Test func cachingModeMovedFirstIn102() throws {
    let late = try #require(
      VIOMMUChecker.check(F.intel("10.1") { $0.cachingMode = false }, devices: [Self.legacy39], host: F.intelHost).only)
    #expect(late.failingChecks == ["intel.aw-bits", "intel.caching-mode"])
    #expect(late.finding("intel.caching-mode")?.qemuStopsEarlierAt == "intel.aw-bits")

    let early = try #require(
      VIOMMUChecker.check(F.intel("10.2") { $0.cachingMode = false }, devices: [Self.legacy39], host: F.intelHost).only)
    #expect(early.failingChecks == ["intel.caching-mode", "intel.aw-bits"])
    #expect(early.finding("intel.aw-bits")?.qemuStopsEarlierAt == "intel.caching-mode")
    // Both fixes in one pasteable option.
    #expect(early.finding("intel.aw-bits")?.remedy?.qemu == "-device intel-iommu,caching-mode=on,aw-bits=39")
  }

  @Test func configurationFailureFailsEveryDeviceAndIsReachedFirst() throws {
    let report = VIOMMUChecker.check(
      F.intel { $0.awBits = 40 }, devices: [Self.legacy39, Self.legacy48], host: F.intelHost)
    #expect(report.status == .fail)
    #expect(report.devices.allSatisfy { $0.status == .fail })
    // 40 > 39 also fails the host check; QEMU never gets there.
    let aw = try #require(report.devices[0].finding("intel.aw-bits"))
    #expect(aw.qemuStopsEarlierAt == "intel.aw-bits.allowed")
    // 40 ≤ 48: the 48-bit host has no aw-bits problem of its own.
    #expect(report.devices[1].finding("intel.aw-bits")?.status == .pass)
    #expect(
      report.configurationFindings.first { $0.check == "intel.aw-bits.allowed" }?.remedy?.qemu
        == "-device intel-iommu,caching-mode=on,aw-bits=39")
  }

  @Test func unknownHostWidthIsUndetermined() throws {
    let input = F.failed(.permissionDenied, errno: .permissionDenied, prediction: F.sysfs(ranges: nil))
    let verdict = try #require(VIOMMUChecker.check(F.intel(), devices: [input], host: F.intelHost).only)
    #expect(verdict.finding("intel.aw-bits")?.status == .undetermined)
    #expect(verdict.status == .undetermined)
  }

  @Test func hostBelow39HasNoAWBitsFix() throws {
    let narrow = F.realized(F.legacy(ranges: [IOVARange(start: 0, last: 0xf_ffff_ffff)]))  // 36 bits
    let finding = try #require(
      VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [narrow], host: F.intelHost).only?.finding(
        "intel.aw-bits"))
    #expect(finding.message.hasSuffix("aw-bits 39 > host aw-bits 36"))
    #expect(finding.remedy?.qemu == nil)
    #expect(finding.remedy?.summary.contains("virtio-iommu") == true)
  }
}
