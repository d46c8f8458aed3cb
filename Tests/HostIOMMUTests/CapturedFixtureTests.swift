// hiodctl tests — trees captured from the VM rig's real kernels, read through the real
// libpci and compared with the rig's own ground truth (truth.json, parsed from the
// guest's sysfs at capture time).
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

@testable import HostIOMMU

struct CapturedFixtureTests {
  static let names = [
    "intel-aw39", "intel-aw48", "intel-sm", "amd", "virtio", "no-iommu", "multifunction", "bridge",
  ]

  static func truth(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("captured/\(name)/truth.json")))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  @Test(arguments: names)
  func devicesMatchTheGuestsSysfs(_ name: String) throws {
    let host = try Fixtures.scan("captured/\(name)")
    let truth = try Self.truth(name)
    let devices = try #require(truth["devices"] as? [String: [String: Any]])
    #expect(host.warnings.isEmpty, "\(host.warnings)")
    #expect(Set(host.devices.map(\.address.description)) == Set(devices.keys))
    for device in host.devices {
      let expected = try #require(devices[device.address.description])
      let bdf = device.address.description
      #expect(device.iommuGroup == expected["group"] as? Int, "\(name) \(bdf) group")
      #expect(device.driver == expected["driver"] as? String, "\(name) \(bdf) driver")
      #expect(device.iommuUnit == expected["iommu"] as? String, "\(name) \(bdf) iommu unit")
      #expect(device.vfioCdev?.name == expected["vfiodev"] as? String, "\(name) \(bdf) cdev")
      #expect("0x" + device.identity.vendorID.hex(width: 4) == expected["vendor"] as? String)
      #expect("0x" + device.identity.deviceID.hex(width: 4) == expected["device"] as? String)
    }
  }

  @Test(arguments: names)
  func groupsMatchTheGuestsSysfs(_ name: String) throws {
    let host = try Fixtures.scan("captured/\(name)")
    let groups = try #require(try Self.truth(name)["groups"] as? [String: [String: Any]])
    #expect(Set(host.groups.map { String($0.id) }) == Set(groups.keys))
    for group in host.groups {
      let expected = try #require(groups[String(group.id)])
      #expect(group.members.map(\.name) == expected["devices"] as? [String], "\(name) group \(group.id)")
      #expect(group.isViable == expected["viable"] as? Bool, "\(name) group \(group.id) viable")
      let blockers = (expected["blockers"] as? [[String: Any]])?.compactMap { $0["device"] as? String }
      #expect(group.blockers.map(\.name) == blockers, "\(name) group \(group.id) blockers")
      #expect(group.type == expected["type"] as? String)
      let regions = (expected["reserved_regions"] as? [[String: String]])?.map {
        "\($0["start"] ?? "") \($0["end"] ?? "") \($0["type"] ?? "")"
      }
      #expect(group.reservedRegions.map { "\($0.start.hex64) \($0.end.hex64) \($0.type.rawValue)" } == regions)
      if expected["vfio_node_present"] as? Bool == true {
        #expect(group.vfioNode?.present == true, "\(name) group \(group.id) node")
      }
    }
  }

  @Test(arguments: names)
  func hostFactsMatchTheGuest(_ name: String) throws {
    let facts = try Fixtures.scan("captured/\(name)").facts
    let truth = try Self.truth(name)
    let units = try #require(truth["units"] as? [String: Any])
    #expect(Set(facts.iommuUnits.map(\.name)) == Set(units.keys))
    #expect(facts.interruptRemapping.rawValue == truth["interrupt_remapping"] as? String)
    #expect(facts.vfioContainer.present == truth["vfio_container_present"] as? Bool)
    #expect(facts.iommufd.present == truth["iommufd_present"] as? Bool)
  }

  /// The sysfs predictor against what the real kernel answered on the rig (both the
  /// legacy and the iommufd backend reported these, with exactly these ranges).
  @Test(arguments: [
    (
      "intel-aw39", "0000:00:02.0", 39,
      ["0x0000000000000000-0x00000000fedfffff", "0x00000000fef00000-0x0000007fffffffff"]
    ),
    (
      "intel-aw48", "0000:00:02.0", 48,
      ["0x0000000000000000-0x00000000fedfffff", "0x00000000fef00000-0x0000ffffffffffff"]
    ),
    (
      "intel-sm", "0000:00:02.0", 48,
      ["0x0000000000000000-0x00000000fedfffff", "0x00000000fef00000-0x0000ffffffffffff"]
    ),
    ("bridge", "0000:01:01.0", 48, ["0x0000000000000000-0x00000000fedfffff", "0x00000000fef00000-0x0000ffffffffffff"]),
    (
      "amd", "0000:00:03.0", 64,
      [
        "0x0000000000000000-0x00000000fedfffff", "0x00000000fef00000-0x000000fcffffffff",
        "0x0000010000000000-0xffffffffffffffff",
      ]
    ),
  ])
  func predictionEqualsTheKernelsAnswer(_ name: String, _ bdf: String, _ bits: Int, _ ranges: [String]) throws {
    let host = try Fixtures.scan("captured/\(name)")
    let device = try #require(host.devices.first { $0.address.description == bdf })
    let prediction = try SysfsPredictor(root: Fixtures.root("captured/\(name)")).predict(device, in: host)
    #expect(prediction.awBits == bits)
    #expect(prediction.iovaRanges?.value.map(\.description) == ranges)
  }

  @Test func virtioIOMMUApertureIsNotPredicted() throws {
    let host = try Fixtures.scan("captured/virtio")
    let unit = try #require(host.facts.iommuUnits.first)
    #expect(unit.vendor == .virtio && unit.name == "0000:00:05.0")
    let device = try #require(host.devices.first { $0.isVFIOBound })
    let prediction = try SysfsPredictor(root: Fixtures.root("captured/virtio")).predict(device, in: host)
    #expect(prediction.awBits == nil)
  }

  @Test func theAMDUnitIsAPCIFunctionWithoutAGroup() throws {
    let host = try Fixtures.scan("captured/amd")
    #expect(host.facts.iommuUnits.map(\.vendor) == [.amd])
    #expect(host.facts.iommuUnits.first?.amdVi?.features == "29d3:0")
    let iommu = try #require(host.devices.first { $0.identity.vendorID == 0x1022 && $0.identity.deviceID == 0x0010 })
    #expect(iommu.iommuGroup == nil)
  }
}
