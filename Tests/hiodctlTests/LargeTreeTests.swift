// hiodctl tests — thousands of devices and groups: every one listed, and every group,
// driver, VFIO node and viability verdict as the generated tree says.
// SPDX-License-Identifier: GPL-2.0-or-later

import Foundation
import Testing

struct LargeTreeTests {
  /// Generates a 4096-function SR-IOV host with Tests/Fixtures/synthesize.py and the
  /// manifest of what it wrote, then checks `hiodctl --json list` against the manifest.
  @Test(.timeLimit(.minutes(2)))
  func sriovHostWith4096Functions() throws {
    let scratch = FileManager.default.temporaryDirectory
      .appendingPathComponent("hiodctl-large-\(getpid())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    let tree = scratch.appendingPathComponent("tree").path
    let manifestPath = scratch.appendingPathComponent("manifest.json").path
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)

    let generator = Process()
    generator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    generator.arguments = [
      "python3", Golden.testsDirectory + "/Fixtures/synthesize.py", "sriov", tree,
      "--devices", "4096", "--manifest", manifestPath,
    ]
    try generator.run()
    generator.waitUntilExit()
    try #require(generator.terminationStatus == 0)

    let outcome = try Golden.run(["--sysroot", tree, "--json", "--numeric", "list"])
    #expect(outcome.status == 0)
    #expect(outcome.stderr.isEmpty)
    let document = try #require(
      try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    let manifest = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
        as? [String: Any])
    let expectedDevices = try #require(manifest["devices"] as? [String: [String: Any]])
    let expectedGroups = try #require(manifest["groups"] as? [String: [String: Any]])

    let devices = try #require(document["devices"] as? [[String: Any]])
    #expect(devices.count == 4096)
    #expect(Set(devices.compactMap { $0["bdf"] as? String }) == Set(expectedDevices.keys))
    var mismatches: [String] = []
    for device in devices {
      let bdf = device["bdf"] as? String ?? "?"
      guard let expected = expectedDevices[bdf] else { continue }
      let group = expected["group"] as? Int
      if device["iommu_group"] as? Int != group { mismatches.append("\(bdf) group") }
      if device["driver"] as? String != expected["driver"] as? String {
        mismatches.append("\(bdf) driver")
      }
      let cdev = (device["vfio_cdev"] as? [String: Any])?["name"] as? String
      if cdev != expected["cdev"] as? String { mismatches.append("\(bdf) cdev") }
      if let group, let expectedGroup = expectedGroups[String(group)] {
        let viable = (expectedGroup["blockers"] as? [String])?.isEmpty
        if device["viable"] as? Bool != viable { mismatches.append("\(bdf) viable") }
        let node = device["vfio_group_node"] as? [String: Any]
        let bound = (expected["driver"] as? String)?.contains("vfio") == true
        if bound {
          if node?["path"] as? String != "/dev/vfio/\(group)"
            || node?["present"] as? Bool != expectedGroup["node"] as? Bool
          {
            mismatches.append("\(bdf) vfio_group_node")
          }
        } else if node != nil {
          mismatches.append("\(bdf) vfio_group_node on a non-VFIO device")
        }
      }
    }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(20))")

    try checkAnswersEveryVFIODevice(tree: tree, expectedDevices: expectedDevices, expectedGroups: expectedGroups)

    let groups = try #require(document["groups"] as? [[String: Any]])
    #expect(groups.count == expectedGroups.count)
    for group in groups {
      let id = String(group["id"] as? Int ?? -1)
      let expected = expectedGroups[id]
      #expect(group["devices"] as? [String] == expected?["devices"] as? [String], "group \(id)")
      let blockers = (group["blockers"] as? [[String: Any]])?.compactMap { $0["device"] as? String }
      #expect(blockers == expected?["blockers"] as? [String], "group \(id) blockers")
    }
  }

  /// `check --all` answers for every VFIO-bound device from the sysfs predictor, as an
  /// unprivileged user (setpriv to nobody), and marks every answer as a prediction.
  func checkAnswersEveryVFIODevice(
    tree: String, expectedDevices: [String: [String: Any]], expectedGroups: [String: [String: Any]]
  ) throws {
    let outcome = try Golden.run(
      ["--sysroot", tree, "--json", "--numeric", "check", "--viommu", "intel", "--all"],
      asUser: "nobody")
    // Devices in non-viable groups fail; the others cannot be decided without the kernel.
    #expect(outcome.status == 1)
    #expect(outcome.stderr.isEmpty)
    let document = try #require(
      try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
    let devices = try #require(document["devices"] as? [[String: Any]])
    let vfioBound = expectedDevices.filter { ($0.value["driver"] as? String)?.contains("vfio") == true }
    #expect(devices.count == vfioBound.count)
    #expect(Set(devices.compactMap { $0["bdf"] as? String }) == Set(vfioBound.keys))
    var wrong: [String] = []
    for device in devices {
      let bdf = device["bdf"] as? String ?? "?"
      guard device["predicted"] as? Bool == true, device["backend"] as? String == "sysfs",
        device["aw_bits"] as? Int == 48
      else {
        wrong.append("\(bdf): not a 48-bit prediction")
        continue
      }
      let group = String(vfioBound[bdf]?["group"] as? Int ?? -1)
      let viable = (expectedGroups[group]?["blockers"] as? [String])?.isEmpty == true
      let status = device["status"] as? String
      if viable ? status != "undetermined" : status != "fail" {
        wrong.append("\(bdf): status \(status ?? "nil") in a \(viable ? "viable" : "non-viable") group")
      }
    }
    #expect(wrong.isEmpty, "\(wrong.prefix(10))")
  }
}

/// Files an unprivileged user cannot read are reported and the rest still answers.
struct UnreadableFileTests {
  @Test func unreadableAttributesAreWarningsNotFailures() throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hiodctl-unreadable-\(getpid())")
    defer { try? FileManager.default.removeItem(at: scratch) }
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    let tree = scratch.appendingPathComponent("tree").path
    let copy = Process()
    copy.executableURL = URL(fileURLWithPath: "/bin/cp")
    copy.arguments = ["-a", Golden.testsDirectory + "/Fixtures/synthetic/intel-host", tree]
    try copy.run()
    copy.waitUntilExit()
    try #require(copy.terminationStatus == 0)
    for file in [
      "sys/kernel/iommu_groups/1/reserved_regions", "sys/devices/virtual/iommu/dmar0/intel-iommu/cap",
      "sys/devices/pci0000:00/0000:00:03.0/vendor",
    ] {
      try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: "\(tree)/\(file)")
    }
    let outcome = try Golden.run(["--sysroot", tree, "-n", "list"], asUser: "nobody")
    #expect(outcome.status == 0)
    #expect(outcome.stderr.contains("0000:00:03.0: skipped: Cannot open"))
    #expect(outcome.stderr.contains("/sys/kernel/iommu_groups/1/reserved_regions: Permission denied"))
    #expect(outcome.stderr.contains("intel-iommu/cap: Permission denied"))
    #expect(outcome.stdout.contains("/dev/vfio/1  vfio0  yes"))
  }
}
