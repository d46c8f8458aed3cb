// hiodctl — the JSON contract of `hiodctl --json caps` (schema_version 1), declared key
// by key in the contract's table (ContractKey.swift).
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Every value carries its provenance: `source.backend` (legacy, iommufd, sysfs) and
// `source.origin` (the ioctl or file). `predicted` is true for sysfs-derived values —
// what the kernel would probably answer, not what it answered.

/// The document `hiodctl --json caps` prints.
package struct CapsDocument: ContractDocument, Sendable {
  package static let command = "caps"
  package let realizations: [DeviceRealization]

  package init(_ realizations: [DeviceRealization]) {
    self.realizations = realizations
  }

  package enum Key: String, ContractKey {
    case schemaVersion = "schema_version"
    case devices

    package static let objectName = "caps"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .schemaVersion: ContractField(.integer, "the version of this contract (1)")
      case .devices:
        ContractField(.list(.object(DeviceRealization.Key.objectName)), "each device asked for, in the order given")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .schemaVersion: .integer(JSONSchema.version)
    case .devices: .objects(realizations)
    }
  }
}

extension DeviceRealization: ContractObject {
  package enum Key: String, ContractKey {
    case bdf
    case requestedBackend = "requested_backend"
    case backend, determined, prediction
    case attempts
    case hostIOMMUDevice = "host_iommu_device"

    package static let objectName = "caps_device"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .bdf: ContractField(.pciAddress, "the function")
      case .requestedBackend:
        ContractField(.choice(choices(of: BackendChoice.self)), "the backend asked for (--backend)")
      case .backend:
        ContractField(.nullable(.choice(choices(of: HostIOMMUBackend.self))), "the backend that answered; null: none")
      case .determined: ContractField(.boolean, "whether the kernel answered (not a prediction, not a failure)")
      case .prediction: ContractField(.nullable(.boolean), "whether the answer is the sysfs prediction; null: none")
      case .attempts:
        ContractField(.list(.object(RealizeAttempt.Key.objectName)), "each backend tried, in order, and why")
      case .hostIOMMUDevice:
        ContractField(
          .nullable(.object(HostIOMMUDevice.Key.objectName)), "the HostIOMMUDevice realized; null: none was")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .bdf: .string(device.address.description)
    case .requestedBackend: .string(requested.rawValue)
    case .backend: .string(hostIOMMUDevice?.backend.rawValue)
    case .determined: .boolean(isDetermined)
    case .prediction: .boolean(hostIOMMUDevice.map { $0.backend == .sysfs })
    case .attempts: .objects(attempts)
    case .hostIOMMUDevice: .object(hostIOMMUDevice)
    }
  }
}

extension RealizeAttempt: ContractObject {
  package enum Key: String, ContractKey {
    case backend, reason, realized, failure, reset

    package static let objectName = "realize_attempt"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .backend: ContractField(.choice(choices(of: HostIOMMUBackend.self)), "the backend tried")
      case .reason: ContractField(.string, "why this backend was tried")
      case .realized: ContractField(.boolean, "whether it realized a HostIOMMUDevice")
      case .failure: ContractField(.nullable(.object(RealizeFailure.Key.objectName)), "why not; null when it did")
      case .reset:
        ContractField(
          .nullable(.object(DeviceReset.Key.objectName)), "the reset its open made (iommufd's bind); null: none")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .backend: .string(backend.rawValue)
    case .reason: .string(reason)
    case .realized: .boolean(failure == nil)
    case .failure: .object(failure)
    case .reset: .object(reset)
    }
  }
}

extension DeviceReset: ContractObject, Decodable {
  package enum Key: String, ContractKey {
    case method, methods

    package static let objectName = "device_reset"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .method: ContractField(.nullable(.string), "the reset the kernel uses first (reset_method); null: none")
      case .methods: ContractField(.list(.string), "every reset method, in the kernel's order")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .method: .string(method)
    case .methods: .strings(methods)
    }
  }

  package init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: Key.self)
    self.init(methods: try container.decodeIfPresent([String].self, forKey: .methods) ?? [])
  }
}

extension RealizeFailure: ContractObject {
  package enum Key: String, ContractKey {
    case step, errno, problem, message, hints

    package static let objectName = "realize_failure"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .step: ContractField(.string, "the step that failed (the ioctl, or the check before it)")
      case .errno: ContractField(.nullable(.string), "the kernel's errno (EBUSY, EPERM, …); null: not a syscall")
      case .problem: ContractField(.choice(choices(of: DeviceProblem.self)), "what kind of problem it is")
      case .message: ContractField(.string, "the failure, in words")
      case .hints: ContractField(.list(.string), "what to do about it")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .step: .string(step)
    case .errno: .string(errno?.symbol)
    case .problem: .string(problem.rawValue)
    case .message: .string(message)
    case .hints: .strings(hints)
    }
  }
}

extension Provenance: ContractObject {
  package enum Key: String, ContractKey {
    case backend, origin

    package static let objectName = "source"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .backend: ContractField(.choice(choices(of: HostIOMMUBackend.self)), "the backend the value came from")
      case .origin: ContractField(.string, "the ioctl or file it was read from")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .backend: .string(backend.rawValue)
    case .origin: .string(origin)
    }
  }
}

/// One kind of sourced value of a HostIOMMUDevice: its object's name, the type of its
/// `value`, and the one key it adds, if any (the names of page sizes, of hw_caps flags).
protocol SourcedKind: Sendable {
  static var objectName: String { get }
  static var valueField: ContractField { get }
  static var extra: (key: SourcedKey, field: ContractField)? { get }
  /// `SortedContractKeys(SourcedEntry<Self>.Key.self)`, stored here: a generic type has
  /// no stored statics, and made afresh for each value it was 7% of a 4096-function
  /// snapshot.
  static var sortedKeys: SortedContractKeys<SourcedEntry<Self>.Key> { get }
}

/// Every key a sourced value can have; each kind has value, source, predicted and its
/// own extra key.
enum SourcedKey: String, CodingKey, Sendable {
  case value, source, predicted, name, sizes, flags
}

/// `{"value": …, "source": {…}, "predicted": …}`, plus the kind's extra key.
struct SourcedEntry<Kind: SourcedKind>: ContractObject {
  let value: ContractValue
  let provenance: Provenance
  var extra: ContractValue = .null

  struct Key: ContractKey {
    let key: SourcedKey
    init(_ key: SourcedKey) { self.key = key }
    init?(rawValue: String) {
      guard let key = SourcedKey(rawValue: rawValue), Self.allCases.contains(where: { $0.key == key }) else {
        return nil
      }
      self.key = key
    }
    init?(stringValue: String) { self.init(rawValue: stringValue) }
    init?(intValue: Int) { nil }
    var rawValue: String { key.rawValue }
    var stringValue: String { key.rawValue }
    var intValue: Int? { nil }

    static var allCases: [Key] {
      [Key(.value), Key(.source), Key(.predicted)] + (Kind.extra.map { [Key($0.key)] } ?? [])
    }
    static var objectName: String { Kind.objectName }
    static var sortedKeys: SortedContractKeys<Key> { Kind.sortedKeys }
    var field: ContractField {
      switch key {
      case .value: Kind.valueField
      case .source: ContractField(.object(Provenance.Key.objectName), "where the value came from")
      case .predicted: ContractField(.boolean, "true when sysfs predicted it (the kernel was not asked)")
      case .name, .sizes, .flags: Kind.extra!.field
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key.key {
    case .value: value
    case .source: .object(provenance)
    case .predicted: .boolean(provenance.isPrediction)
    case .name, .sizes, .flags: extra
    }
  }
}

enum AWBitsValue: SourcedKind {
  static let objectName = "sourced_aw_bits"
  static let sortedKeys = SortedContractKeys(SourcedEntry<Self>.Key.self)
  static var valueField: ContractField {
    ContractField(.integer, "the address width the IOVA ranges give (QEMU's aw_bits)")
  }
  static var extra: (key: SourcedKey, field: ContractField)? { nil }
}

enum IOVARangesValue: SourcedKind {
  static let objectName = "sourced_iova_ranges"
  static let sortedKeys = SortedContractKeys(SourcedEntry<Self>.Key.self)
  static var valueField: ContractField {
    ContractField(.list(.object(IOVARange.Key.objectName)), "the usable IOVA ranges")
  }
  static var extra: (key: SourcedKey, field: ContractField)? { nil }
}

enum PageSizeMaskValue: SourcedKind {
  static let objectName = "sourced_page_size_mask"
  static let sortedKeys = SortedContractKeys(SourcedEntry<Self>.Key.self)
  static var valueField: ContractField { ContractField(.hex64, "the IOMMU's page sizes, a bit per size") }
  static var extra: (key: SourcedKey, field: ContractField)? { (.sizes, ContractField(.list(.string), "them named")) }
}

enum IOMMUTypeValue: SourcedKind {
  static let objectName = "sourced_iommu_type"
  static let sortedKeys = SortedContractKeys(SourcedEntry<Self>.Key.self)
  static var valueField: ContractField { ContractField(.integer, "IOMMU_HW_INFO_TYPE_* of the IOMMU") }
  static var extra: (key: SourcedKey, field: ContractField)? { (.name, ContractField(.string, "the type's name")) }
}

enum HardwareCapabilitiesValue: SourcedKind {
  static let objectName = "sourced_hw_caps"
  static let sortedKeys = SortedContractKeys(SourcedEntry<Self>.Key.self)
  static var valueField: ContractField { ContractField(.hex64, "IOMMU_GET_HW_INFO's out_capabilities") }
  static var extra: (key: SourcedKey, field: ContractField)? {
    (.flags, ContractField(.list(.string), "the IOMMU_HW_CAP_* set, named"))
  }
}

enum MaxPASIDLog2Value: SourcedKind {
  static let objectName = "sourced_max_pasid_log2"
  static let sortedKeys = SortedContractKeys(SourcedEntry<Self>.Key.self)
  static var valueField: ContractField { ContractField(.integer, "log2 of the PASIDs the device supports") }
  static var extra: (key: SourcedKey, field: ContractField)? { nil }
}

extension HostIOMMUDevice: ContractObject {
  package enum Key: String, ContractKey {
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

    package static let objectName = "host_iommu_device"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .name: ContractField(.string, "the object's name, as QEMU names it")
      case .type:
        ContractField(
          .choice(HostIOMMUBackend.allCases.map(\.qemuType)), "QEMU's TYPE_HOST_IOMMU_DEVICE_* of the backend")
      case .awBits: ContractField(.nullable(.object(AWBitsValue.objectName)), "aw_bits; null: not known")
      case .iovaRanges:
        ContractField(.nullable(.object(IOVARangesValue.objectName)), "the IOVA ranges; null: not known")
      case .pageSizeMask:
        ContractField(.nullable(.object(PageSizeMaskValue.objectName)), "the page sizes; null: not known")
      case .getCap: ContractField(.object(GetCapEntry.Key.objectName), "what QEMU's get_cap answers")
      case .iommuType:
        ContractField(.nullable(.object(IOMMUTypeValue.objectName)), "the IOMMU's hw_info type; null: not known")
      case .hwCaps:
        ContractField(
          .nullable(.object(HardwareCapabilitiesValue.objectName)), "hw_info's capabilities; null: not known")
      case .maxPASIDLog2:
        ContractField(.nullable(.object(MaxPASIDLog2Value.objectName)), "the device's PASID width; null: not known")
      case .vendor:
        ContractField(.nullable(.oneOf(VendorEntry.objectTypes)), "the vendor registers, raw and decoded; null: none")
      case .nestingParent:
        ContractField(
          .nullable(.object(NestingParentProbe.Key.objectName)),
          "whether a nesting-parent HWPT is allowed; null: not tried")
      case .legacy:
        ContractField(.nullable(.object(LegacyContainerInfo.Key.objectName)), "the type1 container's answers (legacy)")
      case .iommufd:
        ContractField(.nullable(.object(IOMMUFDObjects.Key.objectName)), "the iommufd objects made (iommufd)")
      case .notes: ContractField(.list(.string), "what else is worth knowing about this answer")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .name: .string(name)
    case .type: .string(backend.qemuType)
    case .awBits:
      .optional(iovaRanges.flatMap { ranges in awBits.map { ($0, ranges.provenance) } }) {
        .object(SourcedEntry<AWBitsValue>(value: .integer($0.0), provenance: $0.1))
      }
    case .iovaRanges:
      .optional(awBits == nil ? nil : iovaRanges) {
        .object(SourcedEntry<IOVARangesValue>(value: .objects($0.value), provenance: $0.provenance))
      }
    case .pageSizeMask:
      .optional(pageSizeMask) {
        .object(
          SourcedEntry<PageSizeMaskValue>(
            value: .string($0.value.hex64), provenance: $0.provenance, extra: .strings(pageSizeNames($0.value))))
      }
    case .getCap: .object(GetCapEntry(device: self))
    case .iommuType:
      .optional(caps.type) {
        .object(
          SourcedEntry<IOMMUTypeValue>(
            value: .integer(Int($0.value.rawValue)), provenance: $0.provenance, extra: .string($0.value.name)))
      }
    case .hwCaps:
      .optional(caps.hwCaps) {
        .object(
          SourcedEntry<HardwareCapabilitiesValue>(
            value: .string($0.value.hex64), provenance: $0.provenance,
            extra: .strings(hardwareCapabilityNames($0.value))))
      }
    case .maxPASIDLog2:
      .optional(caps.maxPASIDLog2) {
        .object(SourcedEntry<MaxPASIDLog2Value>(value: .integer(Int($0.value)), provenance: $0.provenance))
      }
    case .vendor: .optional(caps.vendor, VendorEntry.value)
    case .nestingParent: .object(nestingParent)
    case .legacy: .object(legacy)
    case .iommufd: .object(iommufd)
    case .notes: .strings(notes)
    }
  }
}

/// QEMU's get_cap answers, keyed like the capability names.
struct GetCapEntry: ContractObject {
  let device: HostIOMMUDevice

  enum Key: String, ContractKey {
    case iommuType = "iommu_type"
    case awBits = "aw_bits"

    static let objectName = "get_cap"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      let answer = ContractType.oneOf(
        [.object(Answer.Key.objectName), .object(Unsupported.Key.objectName), .object(Unknown.Key.objectName)])
      return switch self {
      case .iommuType: ContractField(answer, "get_cap(HOST_IOMMU_DEVICE_CAP_IOMMU_TYPE)")
      case .awBits: ContractField(answer, "get_cap(HOST_IOMMU_DEVICE_CAP_AW_BITS)")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    let answer =
      switch key {
      case .iommuType: device.getCap(.iommuType)
      case .awBits: device.getCap(.awBits)
      }
    return switch answer {
    case .value(let value, let provenance): .object(Answer(value: value, provenance: provenance))
    case .unsupported(let message): .object(Unsupported(message: message))
    case .unknown(let reason): .object(Unknown(reason: reason))
    }
  }

  /// The capability's value.
  struct Answer: ContractObject {
    let value: UInt64
    let provenance: Provenance

    enum Key: String, ContractKey {
      case value, source

      static let objectName = "get_cap_value"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .value: ContractField(.integer, "the value get_cap returns")
        case .source: ContractField(.object(Provenance.Key.objectName), "where it came from")
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .value: .unsigned(value)
      case .source: .object(provenance)
      }
    }
  }

  /// QEMU's error: the backend does not answer this capability.
  struct Unsupported: ContractObject {
    let message: String

    enum Key: String, ContractKey {
      case unsupported

      static let objectName = "get_cap_unsupported"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField { ContractField(.string, "QEMU's error for a capability the backend lacks") }
    }

    func value(for key: Key) -> ContractValue { .string(message) }
  }

  /// hiodctl could not find the answer out.
  struct Unknown: ContractObject {
    let reason: String

    enum Key: String, ContractKey {
      case unknown

      static let objectName = "get_cap_unknown"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField { ContractField(.string, "why the answer is not known without the kernel") }
    }

    func value(for key: Key) -> ContractValue { .string(reason) }
  }
}

/// The vendor registers, raw and decoded: one object per vendor, told apart by `type`.
/// (The shared fields are computed, not stored: a global holding an indirect enum's box
/// through a tagged pointer reads as a leak to LeakSanitizer.)
enum VendorEntry {
  /// The objects `vendor` can be.
  static var objectTypes: [ContractType] {
    [
      .object(IntelVTd.Key.objectName), .object(ARMSMMUv3.Key.objectName), .object(AMD.Key.objectName),
      .object(Other.Key.objectName),
    ]
  }

  static func value(_ vendor: Sourced<VendorCaps>) -> ContractValue {
    switch vendor.value {
    case .intelVTd(let flags, let capability, let extended):
      .object(IntelVTd(flags: flags, capability: capability, extended: extended, provenance: vendor.provenance))
    case .armSMMUv3(let flags, let idr, let iidr, let aidr):
      .object(ARMSMMUv3(flags: flags, idr: idr, iidr: iidr, aidr: aidr, provenance: vendor.provenance))
    case .amd(let efr, let efr2): .object(AMD(efr: efr, efr2: efr2, provenance: vendor.provenance))
    case .other(let type, let bytes): .object(Other(type: type, bytes: bytes, provenance: vendor.provenance))
    }
  }

  static var sourceField: ContractField {
    ContractField(.object(Provenance.Key.objectName), "where the registers came from")
  }
  static var predictedField: ContractField { ContractField(.boolean, "true when sysfs predicted them") }
  static var flagsField: ContractField { ContractField(.integer, "the hw_info flags") }
  static var fieldsField: ContractField {
    ContractField(.list(.object(FieldEntry.Key.objectName)), "the registers' fields, decoded")
  }

  /// Intel VT-d: the CAP and ECAP registers.
  struct IntelVTd: ContractObject {
    static let type = "intel_vtd"
    let flags: UInt32
    let capability: UInt64
    let extended: UInt64
    let provenance: Provenance

    enum Key: String, ContractKey {
      case type, flags, cap, ecap, fields, source, predicted

      static let objectName = "vendor_intel_vtd"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .type: ContractField(.choice([IntelVTd.type]), "the vendor")
        case .flags: VendorEntry.flagsField
        case .cap: ContractField(.hex64, "the VT-d capability register")
        case .ecap: ContractField(.hex64, "the VT-d extended capability register")
        case .fields: VendorEntry.fieldsField
        case .source: VendorEntry.sourceField
        case .predicted: VendorEntry.predictedField
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .type: .string(Self.type)
      case .flags: .integer(Int(flags))
      case .cap: .string(capability.hex64)
      case .ecap: .string(extended.hex64)
      case .fields:
        .objects(
          DecodedFieldCache.fields(.intelCAP, [capability]) { VTdCapability(capability).fields }
            .map { FieldEntry(register: "CAP", field: $0) }
            + DecodedFieldCache.fields(.intelECAP, [extended]) { VTdExtendedCapability(extended).fields }
            .map { FieldEntry(register: "ECAP", field: $0) })
      case .source: .object(provenance)
      case .predicted: .boolean(provenance.isPrediction)
      }
    }
  }

  /// ARM SMMUv3: IDR0..5, IIDR and AIDR.
  struct ARMSMMUv3: ContractObject {
    static let type = "arm_smmuv3"
    let flags: UInt32
    let idr: [UInt32]
    let iidr: UInt32
    let aidr: UInt32
    let provenance: Provenance

    enum Key: String, ContractKey {
      case type, flags, idr, iidr, aidr, fields, source, predicted

      static let objectName = "vendor_arm_smmuv3"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .type: ContractField(.choice([ARMSMMUv3.type]), "the vendor")
        case .flags: VendorEntry.flagsField
        case .idr: ContractField(.list(.string), "IDR0 to IDR5, each 0x and 8 hex digits")
        case .iidr: ContractField(.string, "IIDR, 0x and 8 hex digits")
        case .aidr: ContractField(.string, "AIDR, 0x and 8 hex digits")
        case .fields: VendorEntry.fieldsField
        case .source: VendorEntry.sourceField
        case .predicted: VendorEntry.predictedField
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .type: .string(Self.type)
      case .flags: .integer(Int(flags))
      case .idr: .strings(idr.map { "0x" + $0.hex(width: 8) })
      case .iidr: .string("0x" + iidr.hex(width: 8))
      case .aidr: .string("0x" + aidr.hex(width: 8))
      case .fields:
        .objects(
          DecodedFieldCache.fields(.smmuv3, idr.map(UInt64.init) + [UInt64(iidr), UInt64(aidr)]) {
            SMMUv3Registers(idr: idr, iidr: iidr, aidr: aidr).fields
          }.map { FieldEntry(register: nil, field: $0) })
      case .source: .object(provenance)
      case .predicted: .boolean(provenance.isPrediction)
      }
    }
  }

  /// AMD-Vi: the extended feature registers.
  struct AMD: ContractObject {
    static let type = "amd"
    let efr: UInt64
    let efr2: UInt64
    let provenance: Provenance

    enum Key: String, ContractKey {
      case type, efr, efr2, fields, source, predicted

      static let objectName = "vendor_amd"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .type: ContractField(.choice([AMD.type]), "the vendor")
        case .efr: ContractField(.hex64, "the extended feature register")
        case .efr2: ContractField(.hex64, "the second extended feature register")
        case .fields: VendorEntry.fieldsField
        case .source: VendorEntry.sourceField
        case .predicted: VendorEntry.predictedField
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .type: .string(Self.type)
      case .efr: .string(efr.hex64)
      case .efr2: .string(efr2.hex64)
      case .fields:
        .objects(
          DecodedFieldCache.fields(.amd, [efr, efr2]) { AMDExtendedFeatures(efr: efr, efr2: efr2).fields }
            .map { FieldEntry(register: nil, field: $0) })
      case .source: .object(provenance)
      case .predicted: .boolean(provenance.isPrediction)
      }
    }
  }

  /// A type hiodctl does not decode: the bytes the kernel returned.
  struct Other: ContractObject {
    let type: IOMMUHardwareType
    let bytes: [UInt8]
    let provenance: Provenance

    enum Key: String, ContractKey {
      case type, bytes, source, predicted

      static let objectName = "vendor_other"
      static let sortedKeys = SortedContractKeys(Self.self)
      var field: ContractField {
        switch self {
        case .type: ContractField(.string, "the hw_info type's name, lower case")
        case .bytes: ContractField(.string, "the data the kernel returned, in hex")
        case .source: VendorEntry.sourceField
        case .predicted: VendorEntry.predictedField
        }
      }
    }

    func value(for key: Key) -> ContractValue {
      switch key {
      case .type: .string(type.name.lowercased())
      case .bytes: .string(bytes.map { $0.hex(width: 2) }.joined())
      case .source: .object(provenance)
      case .predicted: .boolean(provenance.isPrediction)
      }
    }
  }
}

/// One decoded register field: `{"name": "CAP.MGAW", "bits": "21:16", "value": 38, …}`.
struct FieldEntry: ContractObject {
  /// Prefixed to the name when one vendor block holds several registers (CAP, ECAP).
  let register: String?
  let field: DecodedField

  enum Key: String, ContractKey {
    case name, bits, value, meaning

    static let objectName = "register_field"
    static let sortedKeys = SortedContractKeys(Self.self)
    var field: ContractField {
      switch self {
      case .name: ContractField(.string, "the field, as the specification names it (CAP.MGAW)")
      case .bits: ContractField(.string, "its bits, high:low")
      case .value: ContractField(.integer, "its value")
      case .meaning: ContractField(.string, "what the value means")
      }
    }
  }

  func value(for key: Key) -> ContractValue {
    switch key {
    case .name: .string(register.map { "\($0).\(field.name)" } ?? field.name)
    case .bits: .string(field.bits)
    case .value: .unsigned(field.value)
    case .meaning: .string(field.meaning)
    }
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

extension NestingParentProbe: ContractObject {
  package enum Key: String, ContractKey {
    case allowed, errno, source

    package static let objectName = "nesting_parent"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .allowed: ContractField(.boolean, "whether IOMMU_HWPT_ALLOC_NEST_PARENT succeeded")
      case .errno: ContractField(.nullable(.string), "the kernel's errno when it refused; null: it did not")
      case .source: ContractField(.object(Provenance.Key.objectName), "where the answer came from")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .allowed: .boolean(allowed)
    case .errno: .string(refusal?.symbol)
    case .source: .object(provenance)
    }
  }
}

extension LegacyContainerInfo: ContractObject {
  package enum Key: String, ContractKey {
    case iommuModel = "iommu_model"
    case dmaMappingsAvailable = "dma_mappings_available"
    case migration
    case unmapAll = "unmap_all"

    package static let objectName = "legacy_container"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .iommuModel: ContractField(.string, "the container's IOMMU model (TYPE1v2, TYPE1, or its number)")
      case .dmaMappingsAvailable:
        ContractField(.nullable(.integer), "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL; null: not reported")
      case .migration: ContractField(.boolean, "whether the container reports the migration capability")
      case .unmapAll: ContractField(.boolean, "whether VFIO_DMA_UNMAP_FLAG_ALL is supported")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .iommuModel: .string(iommuModel == 3 ? "TYPE1v2" : iommuModel == 1 ? "TYPE1" : String(iommuModel))
    case .dmaMappingsAvailable: .integer(dmaMappingsAvailable.map(Int.init))
    case .migration: .boolean(migrationCapable)
    case .unmapAll: .boolean(unmapAll)
    }
  }
}

extension IOMMUFDObjects: ContractObject {
  package enum Key: String, ContractKey {
    case devID = "dev_id"
    case ioasID = "ioas_id"
    case hwptID = "hwpt_id"
    case hwptFlags = "hwpt_flags"

    package static let objectName = "iommufd_objects"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .devID: ContractField(.integer, "the device's iommufd id (the bind's out_devid)")
      case .ioasID: ContractField(.integer, "the IOAS allocated")
      case .hwptID: ContractField(.integer, "the HWPT the device attached to")
      case .hwptFlags: ContractField(.integer, "the flags it was allocated with")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .devID: .integer(Int(deviceID))
    case .ioasID: .integer(Int(ioasID))
    case .hwptID: .integer(Int(hwptID))
    case .hwptFlags: .integer(Int(hwptFlags))
    }
  }
}

extension IOVARange: ContractObject {
  package enum Key: String, ContractKey {
    case start, last

    package static let objectName = "iova_range"
    package static let sortedKeys = SortedContractKeys(Self.self)
    package var field: ContractField {
      switch self {
      case .start: ContractField(.hex64, "the first usable IOVA")
      case .last: ContractField(.hex64, "the last usable IOVA (inclusive)")
      }
    }
  }

  package func value(for key: Key) -> ContractValue {
    switch key {
    case .start: .string(start.hex64)
    case .last: .string(last.hex64)
    }
  }
}
