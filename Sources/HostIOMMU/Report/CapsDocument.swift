// hiodctl — the JSON contract of `hiodctl --json caps` (schema_version 1).
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Every value carries its provenance: `source.backend` (legacy, iommufd, sysfs) and
// `source.origin` (the ioctl or file). `predicted` is true for sysfs-derived values —
// what the kernel would probably answer, not what it answered.

/// The document `hiodctl --json caps` prints.
package struct CapsDocument: Encodable, Sendable {
  package let realizations: [DeviceRealization]

  package init(_ realizations: [DeviceRealization]) {
    self.realizations = realizations
  }

  enum Key: String, CodingKey {
    case schemaVersion = "schema_version"
    case devices
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(JSONSchema.version, forKey: .schemaVersion)
    try container.encode(realizations, forKey: .devices)
  }
}

extension DeviceRealization: Encodable {
  enum Key: String, CodingKey {
    case bdf
    case requestedBackend = "requested_backend"
    case backend, determined, prediction
    case attempts
    case hostIOMMUDevice = "host_iommu_device"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(device.address.description, forKey: .bdf)
    try container.encode(requested.rawValue, forKey: .requestedBackend)
    try container.encode(hostIOMMUDevice?.backend.rawValue, forKey: .backend)
    try container.encode(isDetermined, forKey: .determined)
    try container.encode(hostIOMMUDevice.map { $0.backend == .sysfs }, forKey: .prediction)
    try container.encode(attempts, forKey: .attempts)
    try container.encode(hostIOMMUDevice, forKey: .hostIOMMUDevice)
  }
}

extension RealizeAttempt: Encodable {
  enum Key: String, CodingKey { case backend, reason, realized, failure, reset }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(backend.rawValue, forKey: .backend)
    try container.encode(reason, forKey: .reason)
    try container.encode(failure == nil, forKey: .realized)
    try container.encode(failure, forKey: .failure)
    try container.encode(reset, forKey: .reset)
  }
}

extension DeviceReset: Codable {
  enum Key: String, CodingKey { case method, methods }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(method, forKey: .method)
    try container.encode(methods, forKey: .methods)
  }

  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(methods: try container.decodeIfPresent([String].self, forKey: .methods) ?? [])
  }
}

extension RealizeFailure: Encodable {
  enum Key: String, CodingKey { case step, errno, problem, message, hints }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(step, forKey: .step)
    try container.encode(errno?.symbol, forKey: .errno)
    try container.encode(problem.rawValue, forKey: .problem)
    try container.encode(message, forKey: .message)
    try container.encode(hints, forKey: .hints)
  }
}

extension Provenance: Encodable {
  enum Key: String, CodingKey { case backend, origin }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(backend.rawValue, forKey: .backend)
    try container.encode(origin, forKey: .origin)
  }
}

/// `{"value": …, "source": {…}, "predicted": …}` plus extra keys for one value.
struct SourcedEntry<Value: Encodable>: Encodable {
  let value: Value
  let provenance: Provenance
  var extra: [String: String] = [:]
  var extraList: [String: [String]] = [:]

  typealias Key = NamedKey

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(value, forKey: Key(stringValue: "value"))
    try container.encode(provenance, forKey: Key(stringValue: "source"))
    try container.encode(provenance.isPrediction, forKey: Key(stringValue: "predicted"))
    for (key, text) in extra { try container.encode(text, forKey: Key(stringValue: key)) }
    for (key, list) in extraList { try container.encode(list, forKey: Key(stringValue: key)) }
  }
}

extension HostIOMMUDevice: Encodable {
  enum Key: String, CodingKey {
    case name, type
    case awBits = "aw_bits"
    case iovaRanges = "iova_ranges"
    case pageSizeMask = "page_size_mask"
    case getCap = "get_cap"
    case iommuType = "iommu_type"
    case hwCaps = "hw_caps"
    case maxPASIDLog2 = "max_pasid_log2"
    case vendor
    case nestingParent = "nesting_parent"
    case legacy, iommufd, notes
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(name, forKey: .name)
    try container.encode(backend.qemuType, forKey: .type)
    if let ranges = iovaRanges, let bits = awBits {
      try container.encode(SourcedEntry(value: bits, provenance: ranges.provenance), forKey: .awBits)
      try container.encode(SourcedEntry(value: ranges.value, provenance: ranges.provenance), forKey: .iovaRanges)
    } else {
      try container.encodeNil(forKey: .awBits)
      try container.encodeNil(forKey: .iovaRanges)
    }
    try container.encode(
      pageSizeMask.map {
        SourcedEntry(value: $0.value.hex64, provenance: $0.provenance, extraList: ["sizes": pageSizeNames($0.value)])
      }, forKey: .pageSizeMask)
    try container.encode(GetCapEntry(device: self), forKey: .getCap)
    try container.encode(
      caps.type.map {
        SourcedEntry(value: $0.value.rawValue, provenance: $0.provenance, extra: ["name": $0.value.name])
      }, forKey: .iommuType)
    try container.encode(
      caps.hwCaps.map {
        SourcedEntry(
          value: $0.value.hex64, provenance: $0.provenance, extraList: ["flags": hardwareCapabilityNames($0.value)])
      }, forKey: .hwCaps)
    try container.encode(
      caps.maxPASIDLog2.map { SourcedEntry(value: $0.value, provenance: $0.provenance) }, forKey: .maxPASIDLog2)
    try container.encode(caps.vendor.map(VendorEntry.init), forKey: .vendor)
    try container.encode(nestingParent, forKey: .nestingParent)
    try container.encode(legacy, forKey: .legacy)
    try container.encode(iommufd, forKey: .iommufd)
    try container.encode(notes, forKey: .notes)
  }
}

/// QEMU's get_cap answers, keyed like the capability names.
struct GetCapEntry: Encodable {
  let device: HostIOMMUDevice

  enum Key: String, CodingKey {
    case iommuType = "iommu_type"
    case awBits = "aw_bits"
  }
  enum AnswerKey: String, CodingKey { case value, source, unsupported, unknown }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    for (capability, key) in [(HostIOMMUDeviceCapability.iommuType, Key.iommuType), (.awBits, .awBits)] {
      var answer = container.nestedContainer(keyedBy: AnswerKey.self, forKey: key)
      switch device.getCap(capability) {
      case .value(let value, let provenance):
        try answer.encode(value, forKey: .value)
        try answer.encode(provenance, forKey: .source)
      case .unsupported(let message):
        try answer.encode(message, forKey: .unsupported)
      case .unknown(let reason):
        try answer.encode(reason, forKey: .unknown)
      }
    }
  }
}

/// The vendor registers, raw and decoded.
struct VendorEntry: Encodable {
  let vendor: Sourced<VendorCaps>

  enum Key: String, CodingKey {
    case type, flags, cap, ecap, idr, iidr, aidr, efr, efr2, bytes, fields, source, predicted
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(vendor.provenance, forKey: .source)
    try container.encode(vendor.provenance.isPrediction, forKey: .predicted)
    switch vendor.value {
    case .intelVTd(let flags, let capability, let extended):
      try container.encode("intel_vtd", forKey: .type)
      try container.encode(flags, forKey: .flags)
      try container.encode(capability.hex64, forKey: .cap)
      try container.encode(extended.hex64, forKey: .ecap)
      let fields =
        VTdCapability(capability).fields.map { FieldEntry(register: "CAP", field: $0) }
        + VTdExtendedCapability(extended).fields.map { FieldEntry(register: "ECAP", field: $0) }
      try container.encode(fields, forKey: .fields)
    case .armSMMUv3(let flags, let idr, let iidr, let aidr):
      try container.encode("arm_smmuv3", forKey: .type)
      try container.encode(flags, forKey: .flags)
      try container.encode(idr.map { "0x" + $0.hex(width: 8) }, forKey: .idr)
      try container.encode("0x" + iidr.hex(width: 8), forKey: .iidr)
      try container.encode("0x" + aidr.hex(width: 8), forKey: .aidr)
      try container.encode(
        SMMUv3Registers(idr: idr, iidr: iidr, aidr: aidr).fields.map { FieldEntry(register: nil, field: $0) },
        forKey: .fields)
    case .amd(let efr, let efr2):
      try container.encode("amd", forKey: .type)
      try container.encode(efr.hex64, forKey: .efr)
      try container.encode(efr2.hex64, forKey: .efr2)
      try container.encode(
        AMDExtendedFeatures(efr: efr, efr2: efr2).fields.map { FieldEntry(register: nil, field: $0) },
        forKey: .fields)
    case .other(let type, let bytes):
      try container.encode(type.name.lowercased(), forKey: .type)
      try container.encode(bytes.map { $0.hex(width: 2) }.joined(), forKey: .bytes)
    }
  }
}

/// One decoded register field: `{"name": "CAP.MGAW", "bits": "21:16", "value": 38, …}`.
struct FieldEntry: Encodable {
  /// Prefixed to the name when one vendor block holds several registers (CAP, ECAP).
  let register: String?
  let field: DecodedField

  enum Key: String, CodingKey { case name, bits, value, meaning }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(register.map { "\($0).\(field.name)" } ?? field.name, forKey: .name)
    try container.encode(field.bits, forKey: .bits)
    try container.encode(field.value, forKey: .value)
    try container.encode(field.meaning, forKey: .meaning)
  }
}

/// `IOMMU_HW_CAP_*` names of an `out_capabilities` value.
package func hardwareCapabilityNames(_ capabilities: UInt64) -> [String] {
  let names = [(0, "DIRTY_TRACKING"), (1, "PCI_PASID_EXEC"), (2, "PCI_PASID_PRIV"), (3, "PCI_ATS_NOT_SUPPORTED")]
  var result = names.filter { capabilities & (1 << UInt64($0.0)) != 0 }.map(\.1)
  let known: UInt64 = 0xf
  if capabilities & ~known != 0 { result.append("0x" + (capabilities & ~known).hex(width: 1)) }
  return result
}

extension NestingParentProbe: Encodable {
  enum Key: String, CodingKey { case allowed, errno, source }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(allowed, forKey: .allowed)
    try container.encode(refusal?.symbol, forKey: .errno)
    try container.encode(provenance, forKey: .source)
  }
}

extension LegacyContainerInfo: Encodable {
  enum Key: String, CodingKey {
    case iommuModel = "iommu_model"
    case dmaMappingsAvailable = "dma_mappings_available"
    case migration
    case unmapAll = "unmap_all"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(
      iommuModel == 3 ? "TYPE1v2" : iommuModel == 1 ? "TYPE1" : String(iommuModel), forKey: .iommuModel)
    try container.encode(dmaMappingsAvailable, forKey: .dmaMappingsAvailable)
    try container.encode(migrationCapable, forKey: .migration)
    try container.encode(unmapAll, forKey: .unmapAll)
  }
}

extension IOMMUFDObjects: Encodable {
  enum Key: String, CodingKey {
    case devID = "dev_id"
    case ioasID = "ioas_id"
    case hwptID = "hwpt_id"
    case hwptFlags = "hwpt_flags"
  }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(deviceID, forKey: .devID)
    try container.encode(ioasID, forKey: .ioasID)
    try container.encode(hwptID, forKey: .hwptID)
    try container.encode(hwptFlags, forKey: .hwptFlags)
  }
}

extension IOVARange: Encodable {
  enum Key: String, CodingKey { case start, last }

  package func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(start.hex64, forKey: .start)
    try container.encode(last.hex64, forKey: .last)
  }
}
