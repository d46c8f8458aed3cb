// hiodctl tests — snapshots: what is written reads back as the same host, answers from
// a snapshot equal live answers, and versions are checked.
// SPDX-License-Identifier: GPL-2.0-or-later

import FoundationEssentials
import Testing

@testable import HostIOMMU

struct SnapshotTests {
  static let trees = [
    "synthetic/intel-host", "synthetic/no-iommu", "synthetic/noiommu-mode", "synthetic/broken",
    "captured/intel-aw39", "captured/intel-aw48", "captured/intel-sm", "captured/amd", "captured/virtio",
    "captured/no-iommu", "captured/multifunction", "captured/bridge",
  ]

  static func encode(_ snapshot: HostSnapshot) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Array(try encoder.encode(snapshot))
  }

  @Test(arguments: trees)
  func roundTripsExactly(_ tree: String) throws {
    let snapshot = try HostSnapshot.take(Fixtures.root(tree))
    let bytes = try Self.encode(snapshot)
    let loaded = try HostSnapshot.decode(bytes, source: tree)
    #expect(try Self.encode(loaded) == bytes)
    #expect(loaded.inventory.devices == snapshot.inventory.devices)
    #expect(loaded.inventory.groups == snapshot.inventory.groups)
    #expect(loaded.inventory.facts == snapshot.inventory.facts)
    #expect(loaded.inventory.diagnoses == snapshot.inventory.diagnoses)
    #expect(loaded.inventory.warnings == snapshot.inventory.warnings)
    #expect(loaded.outcomes == snapshot.outcomes)
  }

  /// Every backend's recorded outcome is what the live realizer answers, so commands
  /// answer the same from a snapshot as from the host.
  @Test(arguments: ["synthetic/intel-host", "captured/amd", "captured/multifunction"])
  func answersFromTheSnapshotEqualLiveAnswers(_ tree: String) throws {
    let root = try Fixtures.root(tree)
    let live = try HostInventory.scan(root)
    let taken = try HostSnapshot.take(root, backends: HostSnapshot.recordedBackends)
    let snapshot = try HostSnapshot.decode(try Self.encode(taken), source: tree)
    let liveRealizer = HostIOMMURealizer(root: root)
    for device in live.devices where device.isVFIOBound {
      for choice in BackendChoice.allCases {
        // A live iommufd attempt also says which reset its bind makes; answering from a
        // snapshot opens nothing, so that is the one field the two do not share.
        var fromHost = liveRealizer.realize(device, in: live, backend: choice)
        for index in fromHost.attempts.indices { fromHost.attempts[index].reset = nil }
        let fromSnapshot = snapshot.realizer.realize(device, in: snapshot.inventory, backend: choice)
        #expect(fromSnapshot == fromHost, "\(tree) \(device.address) \(choice)")
      }
    }
  }

  @Test func devicesNotRecordedStillGetTheirSysfsReason() throws {
    let root = try Fixtures.root("synthetic/intel-host")
    let snapshot = try HostSnapshot.take(root)
    let unbound = try #require(snapshot.inventory.devices.first { $0.address.description == "0000:00:03.0" })
    let result = snapshot.realizer.realize(unbound, in: snapshot.inventory, backend: .auto)
    #expect(result.primaryFailure?.problem == .notBoundToVFIO)
    #expect(result.attempts.last?.failure?.step == "snapshot")
  }

  @Test func aNewerSchemaIsRefusedNotMisread() throws {
    let text = #"{"schema_version": 99, "kind": "hiodctl-snapshot", "list": {}}"#
    #expect {
      _ = try HostSnapshot.decode(Array(text.utf8), source: "new.json")
    } throws: { error in
      (error as? HIODError)?.message == "new.json has schema_version 99; this hiodctl reads up to 1"
    }
  }

  @Test(arguments: [
    (#"[1, 2]"#, "not-a.json is not a hiodctl snapshot: not a JSON object"),
    (
      #"{"schema_version": 1}"#,
      #"not-a.json is not a hiodctl snapshot (no "kind": "hiodctl-snapshot" and schema_version)"#
    ),
    ("garbage", "not-a.json is not a hiodctl snapshot: not a JSON object"),
    (#"{"schema_version": 1, "kind": "hiodctl-snapshot"}"#, "not-a.json: missing .list"),
  ])
  func whatIsNotASnapshotSaysSo(_ text: String, _ message: String) {
    #expect {
      _ = try HostSnapshot.decode(Array(text.utf8), source: "not-a.json")
    } throws: { error in
      (error as? HIODError)?.message == message && (error as? HIODError)?.exitStatus == .runtimeError
    }
  }

  @Test func aTruncatedSnapshotIsAnErrorWithTheFile() throws {
    let bytes = try Self.encode(HostSnapshot.take(Fixtures.root("synthetic/intel-host")))
    #expect(throws: HIODError.self) {
      _ = try HostSnapshot.decode(Array(bytes.prefix(bytes.count / 2)), source: "cut.json")
    }
  }

  /// A snapshot written by this version stays loadable by every later one: the file in
  /// Tests/Fixtures/snapshots/ is never regenerated, only added to.
  @Test(arguments: ["v1-intel-aw39.json", "v1-intel-aw48.json"])
  func committedSnapshotsKeepLoading(_ file: String) throws {
    let snapshot = try HostSnapshot.load(Fixtures.path("snapshots/\(file)"))
    #expect(!snapshot.inventory.devices.isEmpty)
    #expect(snapshot.inventory.devices.contains { $0.isVFIOBound })
  }
}
