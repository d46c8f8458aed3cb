// hiodctl tests — the host model read from fixture trees through the real libpci.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import HostIOMMU
import Testing

struct HostInventoryTests {
  @Test func intelHostDevicesGroupsAndDrivers() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    #expect(host.warnings.isEmpty)
    #expect(
      host.devices.map(\.address.description) == [
        "0000:00:00.0", "0000:00:02.0", "0000:00:03.0", "0000:00:04.0", "0000:00:04.1",
        "0000:00:05.0", "0000:00:1c.0", "0000:00:1f.0", "0000:00:1f.3", "0000:01:00.0",
        "10000:00:02.0",
      ])
    let nic = try #require(host.devices.first { $0.address.description == "0000:00:02.0" })
    #expect(nic.identity.vendorID == 0x8086 && nic.identity.deviceID == 0x10d3)
    #expect(nic.identity.classCode == 0x0200)
    #expect(nic.names.vendor == "Intel Corporation")
    #expect(nic.names.device == "82574L Gigabit Network Connection")
    #expect(nic.names.deviceClass == "Ethernet controller")
    #expect(nic.iommuGroup == 1 && nic.iommuUnit == "dmar0" && nic.driver == "vfio-pci")
    #expect(nic.isVFIOBound)
    #expect(
      nic.vfioCdev
        == VFIOCdev(
          name: "vfio0", node: DeviceNode(path: "/dev/vfio/devices/vfio0", present: true),
          deviceNumber: "511:0"))
    #expect(host.group(1)?.vfioNode == DeviceNode(path: "/dev/vfio/1", present: true))
    #expect(host.group(1)?.isViable == true)
  }

  @Test func aMultiFunctionGroupWithAHostDriverIsNotViableAndNamesTheBlocker() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    let group = try #require(host.group(3))
    #expect(group.members.map(\.name) == ["0000:00:04.0", "0000:00:04.1"])
    #expect(!group.isViable)
    #expect(group.blockers == [GroupMember(name: "0000:00:04.1", driver: "e1000e")])
  }

  @Test func pcieportAndPciStubDoNotBlockViability() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    #expect(host.group(4)?.members.map(\.driver) == ["pcieport", "vfio-pci"])
    #expect(host.group(4)?.isViable == true)
    #expect(host.group(7)?.isViable == true)
    // No member of group 7 is on VFIO and /dev/vfio/7 does not exist: no node to report.
    #expect(host.group(7)?.vfioNode == nil)
  }

  @Test func aFiveDigitDomainIsKept() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    let vmd = try #require(host.devices.last)
    #expect(vmd.address.domain == 0x10000)
    #expect(vmd.address.description == "10000:00:02.0")
    #expect(vmd.iommuGroup == 6 && vmd.iommuUnit == "dmar1" && vmd.vfioCdev?.name == "vfio3")
  }

  @Test func hostFactsOfAnIntelHost() throws {
    let facts = try Fixtures.scan("synthetic/intel-host").facts
    #expect(facts.iommuUnits.map(\.name) == ["dmar0", "dmar1"])
    #expect(facts.iommuUnits[0].intelVTd?.capability == 0xd2_008c_2226_0286)
    #expect(facts.iommuUnits[0].intelVTd?.extendedCapability == 0x4800_80f0_0f4a)
    #expect(facts.iommuUnits[0].intelVTd?.version == "1:0")
    #expect(facts.iommuGroupCount == 8)
    #expect(facts.vfioContainer.present && facts.iommufd.present)
    #expect(facts.interruptRemapping == .enabled)
    #expect(facts.unsafeInterrupts == UnsafeInterruptsPolicy(vfioType1: false, iommufd: false))
    #expect(facts.cpuVendor == .intel)
  }

  @Test func numericModeLooksNoNamesUp() throws {
    let host = try Fixtures.scan("synthetic/intel-host", names: false)
    #expect(host.devices.allSatisfy { $0.names == .none })
  }

  @Test func aHostWithoutIOMMUIsDiagnosed() throws {
    let host = try Fixtures.scan("synthetic/no-iommu")
    #expect(host.devices.count == 3)
    #expect(host.devices.allSatisfy { $0.iommuGroup == nil && !$0.isVFIOBound })
    #expect(host.groups.isEmpty)
    #expect(host.facts.interruptRemapping == .disabled)
    #expect(host.diagnoses.map(\.code) == ["iommu-disabled"])
    #expect(host.diagnoses.first?.message == "no IOMMU groups: the IOMMU is disabled")
    #expect(host.diagnoses.first?.hint?.contains("intel_iommu=on") == true)
  }

  @Test func noIOMMUModeGroupsAreRecognised() throws {
    let host = try Fixtures.scan("synthetic/noiommu-mode")
    let group = try #require(host.group(0))
    #expect(group.isNoIOMMU)
    #expect(group.vfioNode == DeviceNode(path: "/dev/vfio/noiommu-0", present: true))
    #expect(host.diagnoses.map(\.code) == ["noiommu-mode", "iommufd-unavailable"])
  }

  @Test func brokenFilesAreReportedAndTheRestStillAnswers() throws {
    let host = try Fixtures.scan("synthetic/broken")
    // The device whose vendor file vanished is skipped; the others are listed.
    #expect(host.devices.map(\.address.description) == ["0000:00:02.0", "0000:00:04.0"])
    #expect(host.warnings.contains { $0.hasPrefix("0000:00:03.0: skipped: Cannot open ") })
    // The good reserved region survives the garbled line after it.
    #expect(host.group(1)?.reservedRegions.count == 1)
    #expect(host.warnings.contains { $0.contains("reserved_regions: line 2 is not") })
    // A member link to nowhere is ignored with a warning, not counted as a blocker.
    #expect(host.group(2)?.members.map(\.name) == ["0000:00:03.0", "0000:00:04.0"])
    #expect(host.warnings.contains { $0.contains("0000:00:09.0: the group lists a device that does not exist") })
    // The non-UTF-8 type is read, repaired, and kept.
    #expect(host.group(2)?.type == "\u{FFFD}\u{FFFD}DMA")
    // An unparseable VT-d register leaves the unit without registers, with a warning.
    #expect(host.facts.iommuUnits.first?.intelVTd == nil)
    #expect(host.warnings.contains { $0.hasSuffix("intel-iommu/cap: not a hex register value: 'not-hex'") })
    // The dangling iommu link of 0000:00:04.0 still names the unit it points to.
    #expect(host.devices.last?.iommuUnit == "dmar9")
  }

  @Test func aRootWithoutAPCIBusIsARuntimeError() throws {
    let scratch = ScratchDirectory()
    scratch.write("proc/cpuinfo", [])
    #expect {
      _ = try HostInventory.scan(SystemRoot(validating: scratch.path))
    } throws: { error in
      let failure = error as? HIODError
      return failure?.exitStatus == .runtimeError
        && failure?.message.hasSuffix("/sys/bus/pci/devices: No such file or directory") == true
    }
  }

  @Test func selectingKeepsOnlyTheSelectedDevicesGroups() throws {
    let host = try Fixtures.scan("synthetic/intel-host")
    let vfio = host.selecting(\.isVFIOBound)
    #expect(vfio.devices.count == 4)
    #expect(vfio.groups.map(\.id) == [1, 3, 4, 6])
    #expect(vfio.facts == host.facts)
  }

  /// Every fixture tree, captured ones included: the listing scan must leave out only
  /// the fields it says it leaves out, and nothing else may move on them (warnings
  /// included). A damaged subsystem file is where the two differ on purpose
  /// (HostileTreeBinaryTests), and the goldens render the table from this scan.
  static let everyTree: [String] = ["synthetic", "captured"].flatMap { kind in
    ((try? FileManager.default.contentsOfDirectory(atPath: Fixtures.path(kind))) ?? []).sorted().map {
      "\(kind)/\($0)"
    }
  }

  @Test(arguments: everyTree)
  func theListingScanIsTheCompleteScanWithoutWhatTheTableDoesNotShow(_ tree: String) throws {
    let complete = try Fixtures.scan(tree)
    let listing = try HostInventory.scan(Fixtures.root(tree), options: .init(scope: .listing))
    // The complete scan with the three fields the listing does not read taken out.
    let expectedDevices = complete.devices.map { device in
      var device = device
      device.identity.subsystemVendorID = nil
      device.identity.subsystemDeviceID = nil
      device.names.subsystemVendor = nil
      device.names.subsystemDevice = nil
      device.vfioCdev?.deviceNumber = nil
      return device
    }
    let expectedGroups = complete.groups.map { group in
      var group = group
      group.type = nil
      return group
    }
    #expect(listing.devices == expectedDevices)
    #expect(listing.groups == expectedGroups)
    #expect(listing.facts == complete.facts)
    #expect(listing.diagnoses == complete.diagnoses)
    #expect(listing.warnings == complete.warnings)
  }

  @Test func theListingScanReadsLessThanTheCompleteOne() throws {
    // Proof the comparison above compares something: every tree is there, and this one
    // carries all the fields the listing leaves out.
    #expect(Self.everyTree.count >= 12)
    let complete = try Fixtures.scan("synthetic/intel-host")
    #expect(complete.devices.contains { $0.identity.subsystemVendorID != nil })
    #expect(complete.devices.contains { $0.names.subsystemVendor != nil })
    #expect(complete.devices.contains { $0.vfioCdev?.deviceNumber != nil })
    #expect(complete.groups.contains { $0.type != nil })
    let listing = try HostInventory.scan(Fixtures.root("synthetic/intel-host"), options: .init(scope: .listing))
    #expect(listing.devices.allSatisfy { $0.identity.subsystemVendorID == nil && $0.vfioCdev?.deviceNumber == nil })
    #expect(listing.groups.allSatisfy { $0.type == nil })
  }
}
