// hiodctl — the snapshot's JSON form: written by `hiodctl snapshot`, read by `--host`.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// {"schema_version": 1, "kind": "hiodctl-snapshot", "hiodctl_version", "created",
//  "hostname", "kernel": {"release", "version"}, "list": <hiodctl --json list>,
//  "caps": [{"bdf", "backends": {"legacy"|"iommufd"|"sysfs": {"realized",
//  "host_iommu_device" | "failure"}}}]}
// Snapshots of any schema_version up to this hiodctl's load; newer ones are refused
// with a message, never misread.

import FoundationEssentials
import Glibc  // getenv
import SystemPackage

extension HostSnapshot: ContractDocument, Decodable {
  package static let command = "snapshot"

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case kind
    case hiodctlVersion = "hiodctl_version"
    case created
    case hostname, kernel, list, caps

    package static let objectName = "snapshot"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .kind: ContractField(.choice([HostSnapshot.kind]), "what this file is")
      case .hiodctlVersion: ContractField(.string, "the hiodctl that took it")
      case .created: ContractField(.string, "when, in UTC (2026-11-21T12:00:00Z; SOURCE_DATE_EPOCH when set)")
      case .hostname: ContractField(.string, "the host's name")
      case .kernel: ContractField(.object(KernelKey.objectName), "the host's kernel")
      case .list: ContractField(.object(ListDocument.Key.objectName), "the host as hiodctl --json list sees it")
      case .caps:
        ContractField(.list(.object(DeviceKey.objectName)), "each VFIO-bound device's realize outcomes, by address")
      }
    }
  }

  package enum KernelKey: String, ContractKey {
    case release, version

    package static let objectName = "snapshot_kernel"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .release: ContractField(.nullable(.string), "uname -r; null: not known")
      case .version: ContractField(.nullable(.string), "uname -v; null: not known")
      }
    }
  }

  package enum DeviceKey: String, ContractKey {
    case bdf, backends

    package static let objectName = "snapshot_device"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .bdf: ContractField(.pciAddress, "the function")
      case .backends: ContractField(.map(.object(OutcomeKey.objectName)), "each backend recorded, by its name")
      }
    }
  }

  package enum OutcomeKey: String, ContractKey {
    case realized
    case hostIOMMUDevice = "host_iommu_device"
    case failure

    package static let objectName = "snapshot_outcome"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .realized: ContractField(.boolean, "whether the backend realized a HostIOMMUDevice")
      case .hostIOMMUDevice:
        ContractField(.nullable(.object(HostIOMMUDevice.Key.objectName)), "what it realized; null: it failed")
      case .failure: ContractField(.nullable(.object(RealizeFailure.Key.objectName)), "why it failed; null: it did not")
      }
    }
  }

  typealias BackendKey = NamedKey

  /// The snapshot as one contract value, for documents that embed it (the tests'); the
  /// snapshot itself is written key by key from `value(for:)`, by JSONEncoder
  /// (`encode(to:)`) and by the streaming writer (`hiodctl snapshot`, 36 MB at 4096
  /// functions, handed to the file 64 KiB at a time).
  package var contractValue: ContractValue { .object(self) }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .kind: .string(Self.kind)
    case .hiodctlVersion: .string(metadata.hiodctlVersion)
    case .created: .string(metadata.created)
    case .hostname: .string(metadata.hostname)
    case .kernel: .object(KernelEntry(metadata: metadata))
    case .list: .object(ListDocument(inventory))
    case .caps:
      .objects(
        outcomes.keys.sorted().map { address in
          DeviceEntry(address: address, outcomes: outcomes[address] ?? [:])
        })
    }
  }

  struct KernelEntry: ContractObject {
    let metadata: SnapshotMetadata

    func value(for key: KernelKey) -> ContractValue {
      switch key {
      case .release: .string(metadata.kernelRelease)
      case .version: .string(metadata.kernelVersion)
      }
    }
  }

  struct DeviceEntry: ContractObject {
    let address: PCIAddress
    let outcomes: [HostIOMMUBackend: RealizeOutcome]

    func value(for key: DeviceKey) -> ContractValue {
      switch key {
      case .bdf: .string(address.description)
      case .backends:
        .map(
          HostSnapshot.recordedBackends.compactMap { backend in
            outcomes[backend].map { (backend.rawValue, .object(OutcomeEntry(outcome: $0))) }
          })
      }
    }
  }

  struct OutcomeEntry: ContractObject {
    let outcome: RealizeOutcome

    func value(for key: OutcomeKey) -> ContractValue {
      switch (key, outcome) {
      case (.realized, .realized): .boolean(true)
      case (.realized, .failed): .boolean(false)
      case (.hostIOMMUDevice, .realized(let device)): .object(device)
      case (.failure, .failed(let failure)): .object(failure)
      case (.hostIOMMUDevice, .failed), (.failure, .realized): .null
      }
    }
  }

  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    let kernel = try container.decodeIfPresent([String: String?].self, forKey: .kernel) ?? [:]
    metadata = SnapshotMetadata(
      hiodctlVersion: try container.decodeIfPresent(String.self, forKey: .hiodctlVersion) ?? "unknown",
      created: try container.decodeIfPresent(String.self, forKey: .created) ?? "unknown",
      hostname: try container.decodeIfPresent(String.self, forKey: .hostname) ?? "unknown",
      kernelRelease: kernel[KernelKey.release.rawValue] ?? nil, kernelVersion: kernel[KernelKey.version.rawValue] ?? nil
    )
    var inventory = try container.decode(DecodedInventory.self, forKey: .list).inventory
    // The list document does not carry the kernel; the snapshot's metadata does.
    inventory.facts.kernelRelease = metadata.kernelRelease
    self.inventory = inventory
    var outcomes: [PCIAddress: [HostIOMMUBackend: RealizeOutcome]] = [:]
    var caps = try container.nestedUnkeyedContainerIfPresent(forKey: .caps)
    while let list = caps, !list.isAtEnd {
      let device = try caps!.nestedContainer(keyedBy: DeviceKey.self)
      let bdf = try device.decode(String.self, forKey: .bdf)
      guard let address = PCIAddress(bdf) else {
        throw DecodingError.dataCorruptedError(forKey: .bdf, in: device, debugDescription: "not a BDF: \(bdf)")
      }
      let backends = try device.nestedContainer(keyedBy: BackendKey.self, forKey: .backends)
      for key in backends.allKeys {
        // A backend a newer hiodctl records is skipped, not an error.
        guard let backend = HostIOMMUBackend(rawValue: key.stringValue) else { continue }
        let entry = try backends.nestedContainer(keyedBy: OutcomeKey.self, forKey: key)
        if try entry.decode(Bool.self, forKey: .realized) {
          outcomes[address, default: [:]][backend] = .realized(
            try entry.decode(HostIOMMUDevice.self, forKey: .hostIOMMUDevice))
        } else {
          var failure = try entry.decode(RealizeFailure.self, forKey: .failure)
          failure.backend = backend
          outcomes[address, default: [:]][backend] = .failed(failure)
        }
      }
    }
    self.outcomes = outcomes
  }
}

extension KeyedDecodingContainer {
  fileprivate func nestedUnkeyedContainerIfPresent(forKey key: Key) throws -> (any UnkeyedDecodingContainer)? {
    guard contains(key), try !decodeNil(forKey: key) else { return nil }
    return try nestedUnkeyedContainer(forKey: key)
  }
}

extension HostSnapshot {
  /// Snapshots are at most this large; a larger file is refused rather than read.
  package static let sizeLimit = 256 << 20

  /// Reads a snapshot file (`-`: standard input), checking it is one and that this
  /// hiodctl understands it.
  package static func load(_ path: String) throws(HIODError) -> HostSnapshot {
    let bytes: [UInt8]
    let stdin = path == "-"
    // The live root resolves paths unchanged, so a relative path stays relative.
    switch SystemRoot.host.readBytes(stdin ? "/dev/stdin" : path, limit: sizeLimit) {
    case .success(let read): bytes = read
    case .failure(let errno):
      throw HIODError(
        .io, "cannot read snapshot \(stdin ? "from standard input" : path): \(errno.description)",
        hints: ["take one with: hiodctl snapshot -o FILE"], underlying: errno)
    }
    return try decode(bytes, source: stdin ? "<stdin>" : path)
  }

  /// Decodes snapshot bytes; `source` names them in messages.
  package static func decode(_ bytes: [UInt8], source: String) throws(HIODError) -> HostSnapshot {
    let data = Data(bytes)
    let header: SnapshotHeader
    do {
      header = try JSONDecoder().decode(SnapshotHeader.self, from: data)
    } catch {
      throw HIODError(
        .io, "\(source) is not a hiodctl snapshot: not a JSON object",
        hints: ["take one with: hiodctl snapshot -o FILE"])
    }
    guard header.kind == .string(kind), let versionValue = header.schemaVersion else {
      throw HIODError(
        .io, "\(source) is not a hiodctl snapshot (no \"kind\": \"\(kind)\" and schema_version)",
        hints: ["take one with: hiodctl snapshot -o FILE"])
    }
    guard case .integer(let version) = versionValue else {
      throw HIODError(
        .io, "\(source): schema_version is \(versionValue), not an integer",
        hints: ["hiodctl writes \"schema_version\": \(JSONSchema.version); was the file edited?"])
    }
    guard version >= 1 else {
      throw HIODError(
        .io, "\(source): schema_version \(version) is not a version (they start at 1)",
        hints: ["hiodctl writes \"schema_version\": \(JSONSchema.version); was the file edited?"])
    }
    guard version <= JSONSchema.version else {
      let writer: String
      if case .string(let written)? = header.hiodctlVersion {
        writer = "hiodctl \(written)"
      } else {
        writer = "a newer hiodctl"
      }
      throw HIODError(
        .io, "\(source) has schema_version \(version); this hiodctl reads up to \(JSONSchema.version)",
        hints: [
          "it was written by \(writer): read it with that version or a later one "
            + "(this is hiodctl \(HIODVersion.string))"
        ])
    }
    do {
      return try JSONDecoder().decode(HostSnapshot.self, from: data)
    } catch let error as DecodingError {
      throw HIODError(.io, "\(source): \(describe(error))", hints: ["was the file edited or truncated?"])
    } catch {
      throw HIODError(.io, "\(source): \(error)")
    }
  }

  /// The fields a snapshot is recognised by, of whatever JSON type they were given.
  struct SnapshotHeader: Decodable {
    let schemaVersion: JSONScalar?
    let kind: JSONScalar?
    let hiodctlVersion: JSONScalar?
    enum CodingKeys: String, CodingKey {
      case schemaVersion = "schema_version"
      case kind
      case hiodctlVersion = "hiodctl_version"
    }
  }

  /// A JSON value, as far as a header check needs to tell it.
  enum JSONScalar: Decodable, Equatable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case other

    init(from decoder: any Decoder) throws {
      let container = try decoder.singleValueContainer()
      if container.decodeNil() {
        self = .null
      } else if let value = try? container.decode(Int.self) {
        self = .integer(value)
      } else if let value = try? container.decode(Double.self) {
        self = .number(value)
      } else if let value = try? container.decode(String.self) {
        self = .string(value)
      } else if let value = try? container.decode(Bool.self) {
        self = .bool(value)
      } else {
        self = .other
      }
    }

    var description: String {
      switch self {
      case .integer(let value): "\(value)"
      case .number(let value): "\(value)"
      case .string(let value): "the string \"\(value)\""
      case .bool(let value): "\(value)"
      case .null: "null"
      case .other: "an array or object"
      }
    }
  }

  private static func describe(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
      context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
    switch error {
    case .keyNotFound(let key, let context): return "missing \(path(context)).\(key.stringValue)"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
      return "bad value at \(path(context)): \(context.debugDescription)"
    @unknown default: return "\(error)"
    }
  }
}

extension SnapshotMetadata {
  /// The latest time a snapshot or export can record: 9999-12-31T23:59:59Z (a `created`
  /// of four-digit years, as ISO 8601 and every consumer expect).
  static let latestEpoch = 253_402_300_799

  /// Refuses a SOURCE_DATE_EPOCH that is not a time (reproducible-builds.org: a decimal
  /// count of seconds since 1970; "the build should fail" on anything else) instead of
  /// recording a garbage `created`.
  package static func validateSourceDateEpoch() throws(HIODError) {
    try validateSourceDateEpoch(
      getenv("SOURCE_DATE_EPOCH").map {
        PathBytes.decode(
          UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0)))
      })
  }

  package static func validateSourceDateEpoch(_ value: String?) throws(HIODError) {
    guard let value else { return }
    guard !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
      throw HIODError(
        .usage, "SOURCE_DATE_EPOCH=\(value): not a number of seconds since 1970-01-01",
        hints: ["set it to a decimal integer such as $(git log -1 --format=%ct), or unset it"])
    }
    guard value.count <= 12, let seconds = Int(value), seconds <= latestEpoch else {
      throw HIODError(
        .usage,
        "SOURCE_DATE_EPOCH=\(value): past 9999-12-31T23:59:59Z (\(latestEpoch)), which a snapshot cannot record",
        hints: ["set it to a decimal integer such as $(git log -1 --format=%ct), or unset it"])
    }
  }
}
