// hiodctl — a vIOMMU configuration: the model, the QEMU release and machine, the options
// the user set, and the values QEMU would really use once its defaults are applied.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Defaults and the releases that have each property: the property table (QEMU/PropertyTable.swift).

/// virtio-iommu's `granule` property: the smallest page size the vIOMMU offers the guest.
package enum Granule: String, Sendable, CaseIterable, Hashable {
  /// 4 KiB and up.
  case k4 = "4k"
  /// 8 KiB and up.
  case k8 = "8k"
  /// 16 KiB and up.
  case k16 = "16k"
  /// 64 KiB and up.
  case k64 = "64k"
  /// The host's page size and up (QEMU's default).
  case host

  /// The page size in bytes; nil for `host` (the host's page size).
  package var bytes: UInt64? {
    switch self {
    case .k4: 4 << 10
    case .k8: 8 << 10
    case .k16: 16 << 10
    case .k64: 64 << 10
    case .host: nil
    }
  }
}

/// The CPU architecture the VM emulates, which decides the default machine of
/// virtio-iommu (q35 on x86, virt on Arm) and so its default aw-bits.
package enum GuestArchitecture: String, Sendable, Hashable, CaseIterable {
  /// An x86 guest (q35, i440fx).
  case x86
  /// An Arm guest (virt).
  case arm

  /// The architecture hiodctl itself was built for: the usual host of the VM.
  package static var native: GuestArchitecture {
    #if arch(arm64) || arch(arm)
      .arm
    #else
      .x86
    #endif
  }
}

/// What the user set explicitly; a property not set takes QEMU's default for the release
/// and machine. Each explicit property remembers the QEMU name it was written with: a name
/// a release does not have (`x-flts` on 11.1) is QEMU's "Property ... not found".
package struct VIOMMUOptions: Hashable, Sendable {
  /// The explicit values.
  package private(set) var values: [VIOMMUProperty: PropertyValue] = [:]
  /// The QEMU name each explicit value was written with; absent: the release's own name.
  package private(set) var spellings: [VIOMMUProperty: String] = [:]

  /// Options with only the given ones set; `VIOMMUOptions()` sets none.
  package init(
    awBits: Int? = nil, cachingMode: Bool? = nil, scalableMode: Bool? = nil, xFlts: Bool? = nil,
    fs1gp: Bool? = nil, granule: Granule? = nil, accel: Bool? = nil, oas: Int? = nil,
    ssidsize: Int? = nil, ril: Bool? = nil, ats: Bool? = nil, dmaRemap: Bool? = nil, pasidBits: Int? = nil
  ) {
    self.awBits = awBits
    self.cachingMode = cachingMode
    self.scalableMode = scalableMode
    self.xFlts = xFlts
    self.fs1gp = fs1gp
    self.granule = granule
    self.accel = accel
    self.oas = oas
    self.ssidsize = ssidsize
    self.ril = ril
    self.ats = ats
    self.dmaRemap = dmaRemap
    self.pasidBits = pasidBits
  }

  /// The explicit value of `property`; setting it keeps the spelling it had.
  package subscript(_ property: VIOMMUProperty) -> PropertyValue? {
    get { values[property] }
    set {
      values[property] = newValue
      if newValue == nil { spellings[property] = nil }
    }
  }

  /// Sets `property` as written under QEMU's name `name` (nil: the release's own name).
  package mutating func set(_ property: VIOMMUProperty, _ value: PropertyValue, spelledAs name: String?) {
    values[property] = value
    spellings[property] = name
  }

  /// Unsets `property`: QEMU's default applies again.
  package mutating func clear(_ property: VIOMMUProperty) {
    values[property] = nil
    spellings[property] = nil
  }

  /// Writes `property` under the release's own name from now on.
  mutating func forgetSpelling(_ property: VIOMMUProperty) {
    spellings[property] = nil
  }

  private func bool(_ property: VIOMMUProperty) -> Bool? { values[property]?.boolValue }
  private func int(_ property: VIOMMUProperty) -> Int? { values[property]?.intValue }
  private mutating func put(_ property: VIOMMUProperty, _ value: PropertyValue?) { self[property] = value }

  /// intel-iommu / virtio-iommu `aw-bits`.
  package var awBits: Int? {
    get { int(.awBits) }
    set { put(.awBits, newValue.map(PropertyValue.int)) }
  }
  /// intel-iommu `caching-mode`.
  package var cachingMode: Bool? {
    get { bool(.cachingMode) }
    set { put(.cachingMode, newValue.map(PropertyValue.bool)) }
  }
  /// intel-iommu `x-scalable-mode` (`scalable-mode` from 11.1).
  package var scalableMode: Bool? {
    get { bool(.scalableMode) }
    set { put(.scalableMode, newValue.map(PropertyValue.bool)) }
  }
  /// intel-iommu `x-flts` (`fsts` from 11.1): first-stage translation.
  package var xFlts: Bool? {
    get { bool(.firstStage) }
    set { put(.firstStage, newValue.map(PropertyValue.bool)) }
  }
  /// intel-iommu `fs1gp` (first-stage 1 GiB pages).
  package var fs1gp: Bool? {
    get { bool(.fs1gp) }
    set { put(.fs1gp, newValue.map(PropertyValue.bool)) }
  }
  /// intel-iommu `pasid-bits` (11.1).
  package var pasidBits: Int? {
    get { int(.pasidBits) }
    set { put(.pasidBits, newValue.map(PropertyValue.int)) }
  }
  /// virtio-iommu `granule`.
  package var granule: Granule? {
    get { values[.granule]?.wordValue.flatMap(Granule.init(rawValue:)) }
    set { put(.granule, newValue.map { .word($0.rawValue) }) }
  }
  /// arm-smmuv3 `accel`.
  package var accel: Bool? {
    get { bool(.accel) }
    set { put(.accel, newValue.map(PropertyValue.bool)) }
  }
  /// arm-smmuv3 `oas` (output address size in bits).
  package var oas: Int? {
    get { int(.oas) }
    set { put(.oas, newValue.map(PropertyValue.int)) }
  }
  /// arm-smmuv3 `ssidsize` (SubstreamID bits).
  package var ssidsize: Int? {
    get { int(.ssidsize) }
    set { put(.ssidsize, newValue.map(PropertyValue.int)) }
  }
  /// arm-smmuv3 `ril` (range invalidation).
  package var ril: Bool? {
    get { bool(.ril) }
    set { put(.ril, newValue.map(PropertyValue.bool)) }
  }
  /// arm-smmuv3 `ats`.
  package var ats: Bool? {
    get { bool(.ats) }
    set { put(.ats, newValue.map(PropertyValue.bool)) }
  }
  /// amd-iommu `dma-remap` (10.2).
  package var dmaRemap: Bool? {
    get { bool(.dmaRemap) }
    set { put(.dmaRemap, newValue.map(PropertyValue.bool)) }
  }
}

/// A value QEMU will use, whether the user chose it, and why it is what it is.
package struct Effective<Value: Hashable & Sendable>: Hashable, Sendable {
  /// The value QEMU uses.
  package var value: Value
  /// True when QEMU's default applies (the user did not set it).
  package var isDefault: Bool
  /// "set explicitly", "QEMU 10.0 and later default to 48 for machine types 9.2 and later".
  package var reason: String

  /// A value, whether it is QEMU's default, and why.
  package init(value: Value, isDefault: Bool, reason: String) {
    self.value = value
    self.isDefault = isDefault
    self.reason = reason
  }

  /// A value the user set.
  static func explicit(_ value: Value) -> Effective {
    Effective(value: value, isDefault: false, reason: "set explicitly")
  }

  /// QEMU's default, with the reason.
  static func byDefault(_ value: Value, _ reason: String) -> Effective {
    Effective(value: value, isDefault: true, reason: reason)
  }
}

/// One property as QEMU spells it on the command line (`aw-bits`, `39`).
package struct QEMUProperty: Hashable, Sendable, CustomStringConvertible {
  /// QEMU's property name (`aw-bits`).
  package var name: String
  /// The value as QEMU spells it (`39`, `on`).
  package var value: String

  /// A property `name=value`.
  package init(name: String, value: String) {
    self.name = name
    self.value = value
  }

  /// `aw-bits=39`.
  package var description: String { "\(name)=\(value)" }
}

/// One effective property: QEMU's name, the value QEMU will use, and why.
package struct EffectiveProperty: Hashable, Sendable {
  /// QEMU's property name (`aw-bits`).
  package var name: String
  /// The value as QEMU spells it (`48`, `on`, `4k`).
  package var value: String
  /// True when QEMU's default applies.
  package var isDefault: Bool
  /// Why the value is what it is.
  package var reason: String

  /// One effective property.
  package init(name: String, value: String, isDefault: Bool, reason: String) {
    self.name = name
    self.value = value
    self.isDefault = isDefault
    self.reason = reason
  }
}

/// A vIOMMU as the user would configure it for one VM.
package struct VIOMMUConfiguration: Hashable, Sendable {
  /// Which vIOMMU.
  package var model: VIOMMUModel
  /// The QEMU release that will run it (`--qemu`).
  package var qemu: QEMUVersion
  /// nil: the default machine of the model (q35 for intel/amd, virt for smmuv3, and for
  /// virtio the one of `architecture`).
  package var machine: MachineType?
  /// What the user set explicitly.
  package var options: VIOMMUOptions
  /// The guest architecture, used only to pick virtio-iommu's default machine when
  /// `machine` is nil. The checker fills it from the host's IOMMU units when they tell.
  package var architecture: GuestArchitecture
  /// Properties of the vIOMMU hiodctl has no rules for, as written (`intremap=on`); only
  /// their existence in the release is checked.
  package var otherProperties: [QEMUProperty] = []

  /// Whether the checks need the iommufd backend's answer (IOMMU_GET_HW_INFO, a nesting
  /// parent): first-stage translation on intel-iommu, accel on arm-smmuv3. Only then does
  /// `check` bind the device (which resets it).
  package var needsHardwareInfo: Bool { xFlts?.value == true || accel?.value == true }

  /// A configuration; by default the newest known QEMU, the model's usual machine and
  /// QEMU's defaults for every option.
  package init(
    model: VIOMMUModel, qemu: QEMUVersion = .newest, machine: MachineType? = nil,
    options: VIOMMUOptions = VIOMMUOptions(), architecture: GuestArchitecture = .native
  ) {
    self.model = model
    self.qemu = qemu
    self.machine = machine
    self.options = options
    self.architecture = architecture
  }

  // MARK: Effective values

  /// The machine QEMU runs: the one given, or the model's usual one.
  package var effectiveMachine: Effective<MachineType> {
    if let machine { return .explicit(machine) }
    return model.definition.defaultMachine(self)
  }

  /// The value QEMU uses for `property` and why: the explicit one, else QEMU's default
  /// for the release and machine. nil when the model (or the release) has no such
  /// property.
  package func effective(_ property: VIOMMUProperty) -> Effective<PropertyValue>? {
    guard let row = VIOMMUProperties.row(property, model: model) else { return nil }
    if let value = options[property] { return .explicit(value) }
    guard let fallback = row.defaultValue(qemu, effectiveMachine.value) else { return nil }
    return .byDefault(fallback.value, fallback.reason)
  }

  private func effectiveBool(_ property: VIOMMUProperty) -> Effective<Bool>? {
    effective(property).flatMap { value in
      value.value.boolValue.map { Effective(value: $0, isDefault: value.isDefault, reason: value.reason) }
    }
  }

  private func effectiveInt(_ property: VIOMMUProperty) -> Effective<Int>? {
    effective(property).flatMap { value in
      value.value.intValue.map { Effective(value: $0, isDefault: value.isDefault, reason: value.reason) }
    }
  }

  /// `aw-bits` (intel-iommu, virtio-iommu from 9.0).
  package var awBits: Effective<Int>? { effectiveInt(.awBits) }
  /// intel-iommu `caching-mode` (default off).
  package var cachingMode: Effective<Bool>? { effectiveBool(.cachingMode) }
  /// intel-iommu scalable mode (`x-scalable-mode`, `scalable-mode` from 11.1; default off).
  package var scalableMode: Effective<Bool>? { effectiveBool(.scalableMode) }
  /// intel-iommu first-stage translation (`x-flts` 10.0–11.0, `fsts` from 11.1; default off).
  package var xFlts: Effective<Bool>? { effectiveBool(.firstStage) }
  /// intel-iommu `fs1gp` (10.0; default on; matters only with first-stage translation).
  package var fs1gp: Effective<Bool>? { effectiveBool(.fs1gp) }
  /// intel-iommu `pasid-bits` (11.1; default 0).
  package var pasidBits: Effective<Int>? { effectiveInt(.pasidBits) }
  /// virtio-iommu `granule` (9.0; default host, 4k on machine types 8.2 and older).
  package var granule: Effective<Granule>? {
    effective(.granule).flatMap { value in
      value.value.wordValue.flatMap(Granule.init(rawValue:)).map {
        Effective(value: $0, isDefault: value.isDefault, reason: value.reason)
      }
    }
  }
  /// arm-smmuv3 `accel` (11.0; default off).
  package var accel: Effective<Bool>? { effectiveBool(.accel) }
  /// arm-smmuv3 `oas` in bits (11.0; default 44).
  package var oas: Effective<Int>? { effectiveInt(.oas) }
  /// arm-smmuv3 `ssidsize` (11.0; default 0: no SubstreamIDs, no PASID).
  package var ssidsize: Effective<Int>? { effectiveInt(.ssidsize) }
  /// arm-smmuv3 `ril` (11.0; default on).
  package var ril: Effective<Bool>? { effectiveBool(.ril) }
  /// arm-smmuv3 `ats` (11.0; default off).
  package var ats: Effective<Bool>? { effectiveBool(.ats) }
  /// amd-iommu `dma-remap` (10.2; default off).
  package var dmaRemap: Effective<Bool>? { effectiveBool(.dmaRemap) }

  /// QEMU's name for `property` in this configuration: as written when explicit, else
  /// the release's own name (or the newest one, for a property the release lacks).
  package func qemuName(of property: VIOMMUProperty) -> String? {
    guard let row = VIOMMUProperties.row(property, model: model) else { return nil }
    return options.spellings[property] ?? row.name(nearest: qemu)
  }

  /// Every effective value of the model, by QEMU property name, in command-line order:
  /// what a report shows as "the configuration QEMU will run".
  package var effectiveProperties: [EffectiveProperty] {
    VIOMMUProperties.rows(of: model).compactMap { row in
      guard let value = effective(row.property), let name = qemuName(of: row.property) else { return nil }
      return EffectiveProperty(
        name: name, value: value.value.description, isDefault: value.isDefault, reason: value.reason)
    }
  }

  // MARK: Properties the user set

  /// The options set explicitly, as QEMU properties, in command-line order.
  package var explicitProperties: [QEMUProperty] {
    let own = VIOMMUProperties.rows(of: model)
    // A property of another model set anyway (QEMU says it is not found) comes last.
    let others = VIOMMUProperty.allCases.filter { property in
      options[property] != nil && !own.contains { $0.property == property }
    }.compactMap { property in VIOMMUProperties.rows.first { $0.property == property } }
    return (own + others).compactMap { row in
      guard let value = options[row.property] else { return nil }
      let name = options.spellings[row.property] ?? row.name(nearest: qemu)
      return QEMUProperty(name: name, value: value.description)
    }
  }

  /// This configuration with other options (the rest unchanged).
  func with(_ change: (inout VIOMMUOptions) -> Void) -> VIOMMUConfiguration {
    var copy = self
    change(&copy.options)
    return copy
  }
}
