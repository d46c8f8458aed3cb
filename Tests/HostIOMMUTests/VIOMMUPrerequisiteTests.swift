// hiodctl tests — the device-level prerequisites (can vfio-pci attach the device at all?)
// and how findings aggregate into a verdict.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// QEMU's messages: the lines Debian's QEMU 10.0.13 and 11.1.3 printed in the VM rig's
// oracle (Tests/Fixtures/qemu-oracle) where the rig can produce the failure (not viable,
// no MSI isolation, not bound); the others as QEMU's source words them (hw/vfio/container.c,
// util/osdep.c qemu_open, 10.0.13), the errno the kernel returns appended as QEMU does.

import SystemPackage
import Testing

@testable import HostIOMMU

private typealias F = VIOMMUFixtures

/// One row: a realize failure and what the check makes of it.
struct PrerequisiteCase: Sendable, CustomTestStringConvertible {
  var label: String
  var input: DeviceCheckInput
  var check: String
  var status: FindingStatus
  var message: String
  var hint: String? = nil
  var wording: MessageWording = .qemu

  var testDescription: String { label }
}

struct VIOMMUPrerequisiteTests {
  static let groupWithNode = IOMMUGroup(
    id: 3,
    members: [GroupMember(name: "0000:01:00.0", driver: nil), GroupMember(name: "0000:01:00.1", driver: "vfio-pci")],
    vfioNode: DeviceNode(path: "/dev/vfio/3", present: true))
  static let groupWithoutNode = IOMMUGroup(id: 3, members: [GroupMember(name: "0000:01:00.0", driver: "e1000e")])

  static let cases: [PrerequisiteCase] = [
    PrerequisiteCase(
      label: "group not viable (legacy)", input: F.failed(.groupNotViable, prediction: F.sysfs()),
      check: "vfio.group-viable", status: .fail, message: "vfio 0000:01:00.0: group 3 is not viable",
      hint: "Please ensure all devices within the iommu_group are bound to their vfio bus driver."),
    PrerequisiteCase(
      label: "group not viable (iommufd)",
      input: F.failed(.groupNotViable, backend: .iommufd, errno: .notPermitted, requested: .iommufd),
      check: "vfio.group-viable", status: .fail,
      message: "vfio 0000:01:00.0: error bind device fd=<fd> to iommufd=<fd>: Operation not permitted"),
    PrerequisiteCase(
      label: "no IOMMU group",
      input: F.failed(.noIOMMUGroup, device: F.pciDevice(group: .some(nil), unit: nil, driver: "e1000e")),
      check: "vfio.iommu-group", status: .fail,
      message: "vfio 0000:01:00.0: no iommu_group found: No such file or directory"),
    PrerequisiteCase(
      label: "no-IOMMU group", input: F.failed(.noIOMMUMode), check: "vfio.noiommu", status: .fail,
      message: "vfio 0000:01:00.0: Could not open '/dev/vfio/3': No such file or directory"),
    PrerequisiteCase(
      label: "unbound, group node exists",
      input: F.failed(.notBoundToVFIO, device: F.pciDevice(driver: nil), group: groupWithNode),
      check: "vfio.driver", status: .fail,
      message: "vfio 0000:01:00.0: error getting device from group 3: No such device",
      hint: "Verify all devices in group 3 are bound to vfio-<bus> or pci-stub and not already in use"),
    PrerequisiteCase(
      label: "host driver, group node exists",
      input: F.failed(.notBoundToVFIO, device: F.pciDevice(driver: "e1000e"), group: groupWithNode),
      check: "vfio.group-viable", status: .fail, message: "vfio 0000:01:00.0: group 3 is not viable",
      hint: "Please ensure all devices within the iommu_group are bound to their vfio bus driver."),
    PrerequisiteCase(
      label: "host driver, no group node",
      input: F.failed(.notBoundToVFIO, device: F.pciDevice(driver: "e1000e"), group: groupWithoutNode),
      check: "vfio.driver", status: .fail,
      message: "vfio 0000:01:00.0: Could not open '/dev/vfio/3': No such file or directory"),
    PrerequisiteCase(
      label: "no MSI isolation (legacy)", input: F.failed(.noMSIIsolation, errno: .notPermitted, prediction: F.sysfs()),
      check: "vfio.msi-isolation", status: .fail,
      message:
        """
        vfio 0000:01:00.0: failed to setup container for group 3: \
        Failed to set iommu for container: Operation not permitted
        """
    ),
    PrerequisiteCase(
      label: "no MSI isolation (iommufd)",
      input: F.failed(.noMSIIsolation, backend: .iommufd, errno: .notPermitted, requested: .iommufd),
      check: "vfio.msi-isolation", status: .fail,
      message: "vfio 0000:01:00.0: error bind device fd=<fd> to iommufd=<fd>: Operation not permitted"),
    PrerequisiteCase(
      label: "busy, predicted", input: F.failed(.busy, errno: .resourceBusy, prediction: F.sysfs()),
      check: "vfio.kernel", status: .undetermined,
      message:
        """
        the kernel could not be asked: the device is in use by another process (a running VM?); \
        the vIOMMU findings below are predicted from sysfs
        """,
      wording: .hiodctl),
    PrerequisiteCase(
      label: "permission, no prediction", input: F.failed(.permissionDenied, errno: .permissionDenied),
      check: "vfio.kernel", status: .undetermined,
      message:
        """
        the kernel could not be asked: hiodctl may not open its VFIO nodes \
        (QEMU, run by root or libvirt, usually may); sysfs gives no prediction either
        """,
      wording: .hiodctl),
  ]

  @Test(arguments: cases)
  func prerequisite(_ row: PrerequisiteCase) throws {
    let report = VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [row.input], host: F.intelHost)
    let verdict = try #require(report.only)
    let finding = try #require(verdict.findings.first)
    #expect(finding.check == row.check)
    #expect(finding.status == row.status)
    #expect(finding.message == row.message)
    #expect(finding.qemuHint == row.hint)
    #expect(finding.wording == row.wording)
    #expect(verdict.status == row.status)
    if row.status == .fail {
      #expect(finding.remedy?.host != nil)
      // QEMU stops at the attach: everything after it is marked.
      #expect(verdict.findings.dropFirst().allSatisfy { $0.qemuStopsEarlierAt == row.check })
    }
  }

  @Test func predictionStillRunsTheVIOMMUChecks() throws {
    let input = F.failed(.groupNotViable, prediction: F.sysfs())
    let verdict = try #require(
      VIOMMUChecker.check(F.intel { $0.awBits = 48 }, devices: [input], host: F.intelHost).only)
    let aw = try #require(verdict.finding("intel.aw-bits"))
    #expect(aw.status == .fail)
    #expect(aw.predicted)
    #expect(aw.evidence.contains { $0.contains("predicted from sysfs") })
    #expect(verdict.failingChecks == ["vfio.group-viable", "intel.aw-bits"])
  }

  @Test func realizedDeviceExplainsEarlierAttempts() throws {
    let hiod = F.legacy()
    let device = F.pciDevice()
    let failure = RealizeFailure(backend: .iommufd, step: "VFIO_DEVICE_BIND_IOMMUFD", problem: .busy, message: "busy")
    let input = DeviceCheckInput(
      device: device,
      realization: DeviceRealization(
        device: device, requested: .auto,
        attempts: [
          RealizeAttempt(backend: .iommufd, reason: "auto", failure: failure),
          RealizeAttempt(backend: .legacy, reason: "auto", failure: nil),
        ],
        hostIOMMUDevice: hiod))
    let verdict = try #require(
      VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [input], host: F.intelHost).only)
    let realize = try #require(verdict.finding("vfio.realize"))
    #expect(realize.status == .pass)
    #expect(realize.evidence.contains { $0.contains("iommufd tried first and failed") })
    #expect(verdict.status == .pass)
  }
}

struct VIOMMUVerdictTests {
  @Test func kernelAnswerAndPassingChecksPass() {
    let report = VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [F.realized(F.legacy())], host: F.intelHost)
    #expect(report.only?.status == .pass)
    #expect(report.status == .pass)
  }

  @Test func predictionWhereTheKernelWasWantedIsUndetermined() throws {
    let input = F.failed(.busy, prediction: F.sysfs())
    let verdict = try #require(
      VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [input], host: F.intelHost).only)
    #expect(verdict.findings.filter { $0.check != "vfio.kernel" }.allSatisfy { $0.status == .pass })
    #expect(verdict.status == .undetermined)
  }

  @Test func askedForPredictionPasses() throws {
    let hiod = F.sysfs()
    let input = F.realized(hiod, requested: .sysfs)
    let verdict = try #require(
      VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [input], host: F.intelHost).only)
    #expect(verdict.finding("vfio.realize")?.predicted == true)
    #expect(verdict.finding("intel.aw-bits")?.predicted == true)
    #expect(verdict.status == .pass)
  }

  @Test func failBeatsUndetermined() throws {
    let input = F.failed(.busy, prediction: F.sysfs())
    let report = VIOMMUChecker.check(F.intel { $0.awBits = 48 }, devices: [input], host: F.intelHost)
    #expect(report.only?.status == .fail)
  }

  @Test func aReleaseOlderThanTheTableIsUndetermined() throws {
    let configuration = VIOMMUConfiguration(
      model: .intel, qemu: QEMUVersion(major: 6, minor: 2), options: VIOMMUOptions(awBits: 39, cachingMode: true))
    let report = VIOMMUChecker.check(configuration, devices: [F.realized(F.legacy())], host: F.intelHost)
    let version = try #require(report.configurationFindings.first { $0.check == "qemu.version" })
    #expect(version.status == .undetermined)
    #expect(version.message.contains("older than any of them"))
    #expect(report.only?.status == .undetermined)
    #expect(report.verdict == .undetermined)
  }

  @Test func aReleaseNewerThanTheTableTakesTheNewestRules() throws {
    let configuration = VIOMMUConfiguration(
      model: .intel, qemu: QEMUVersion(major: 12, minor: 0), options: VIOMMUOptions(awBits: 39, cachingMode: true))
    let report = VIOMMUChecker.check(configuration, devices: [F.realized(F.legacy())], host: F.intelHost)
    let version = try #require(report.configurationFindings.first { $0.check == "qemu.version" })
    #expect(version.status == .pass)
    #expect(version.message.contains("those of 11.1"))
    #expect(report.verdict == .works)
    // …and the newest release's names: 12.0 has no x-scalable-mode either.
    let renamed = VIOMMUConfiguration(
      model: .intel, qemu: QEMUVersion(major: 12, minor: 0), options: VIOMMUOptions(cachingMode: true))
    #expect(renamed.qemuName(of: .scalableMode) == "scalable-mode")
  }

  @Test func reportListsDevicesInInputOrder() {
    let devices = [
      F.realized(F.legacy(F.address(3))), F.realized(F.legacy(F.address(1))), F.realized(F.legacy(F.address(2))),
    ]
    let report = VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: devices, host: F.intelHost)
    #expect(report.devices.map(\.device.address.bus) == [3, 1, 2])
  }

  @Test func noDevicesLeavesTheConfiguration() {
    #expect(VIOMMUChecker.check(F.intel { $0.awBits = 39 }, devices: [], host: F.intelHost).status == .pass)
    #expect(VIOMMUChecker.check(F.intel { $0.awBits = 41 }, devices: [], host: F.intelHost).status == .fail)
  }
}

/// A prediction asked for explicitly (--backend sysfs) still meets what sysfs shows QEMU
/// would fail on first: the verdict must not be COMPATIBLE for a device QEMU cannot open.
struct SysfsOnlyPrerequisiteTests {
  static func predicted(device: PCIDevice, group: IOMMUGroup?) -> DeviceCheckInput {
    var input = VIOMMUFixtures.realized(VIOMMUFixtures.sysfs(device.address), device: device, requested: .sysfs)
    input.group = group
    return input
  }

  @Test func aNonViableGroupFailsEvenForAPrediction() throws {
    let device = VIOMMUFixtures.pciDevice()
    let group = IOMMUGroup(
      id: 3,
      members: [
        GroupMember(name: device.address.description, driver: "vfio-pci"),
        GroupMember(name: "0000:01:00.1", driver: "e1000e"),
      ])
    let report = VIOMMUChecker.check(
      VIOMMUFixtures.configuration(.intel) {
        $0.awBits = 39
        $0.cachingMode = true
      }, devices: [Self.predicted(device: device, group: group)],
      host: HostFacts())
    let verdict = try #require(report.devices.first)
    #expect(verdict.status == .fail)
    #expect(verdict.findings.first?.message == "vfio 0000:01:00.0: group 3 is not viable")
  }

  @Test func anUnboundDeviceFailsEvenForAPrediction() throws {
    let device = VIOMMUFixtures.pciDevice(driver: "e1000e")
    let group = IOMMUGroup(id: 3, members: [GroupMember(name: device.address.description, driver: "e1000e")])
    let report = VIOMMUChecker.check(
      VIOMMUFixtures.configuration(.intel) {
        $0.awBits = 39
        $0.cachingMode = true
      }, devices: [Self.predicted(device: device, group: group)],
      host: HostFacts())
    #expect(report.devices.first?.status == .fail)
  }

  /// Without interrupt remapping VFIO attaches only when allow_unsafe_interrupts is on;
  /// when it cannot be told (the module is not loaded yet, so its parameter is not in
  /// sysfs) the default, off, applies: refused, as vfio_iommu_type1 refuses by default.
  @Test(arguments: [(Bool?.none, true), (false, true), (true, false)])
  func unknownUnsafeInterruptsCountAsOff(_ allowed: Bool?, _ refused: Bool) throws {
    let device = VIOMMUFixtures.pciDevice()
    let group = IOMMUGroup(id: 3, members: [GroupMember(name: device.address.description, driver: "vfio-pci")])
    var host = HostFacts(interruptRemapping: .disabled)
    host.unsafeInterrupts = UnsafeInterruptsPolicy(vfioType1: allowed, iommufd: allowed)
    let report = VIOMMUChecker.check(
      VIOMMUFixtures.configuration(.intel) {
        $0.awBits = 39
        $0.cachingMode = true
      },
      devices: [Self.predicted(device: device, group: group)], host: host)
    let verdict = try #require(report.devices.first)
    let refusal = verdict.findings.first { $0.message.contains("Operation not permitted") }
    #expect((refusal != nil) == refused, "allow_unsafe_interrupts \(String(describing: allowed))")
    #expect((verdict.status == .fail) == refused)
  }

  @Test func aBoundDeviceInAViableGroupPassesOnThePrediction() throws {
    let device = VIOMMUFixtures.pciDevice()
    let group = IOMMUGroup(id: 3, members: [GroupMember(name: device.address.description, driver: "vfio-pci")])
    let report = VIOMMUChecker.check(
      VIOMMUFixtures.configuration(.intel) {
        $0.awBits = 39
        $0.cachingMode = true
      }, devices: [Self.predicted(device: device, group: group)],
      host: HostFacts())
    #expect(report.devices.first?.status == .pass)
  }
}
