// hiodctl — the vIOMMU models, one value each: everything that differs from one model to
// the next (its QEMU and libvirt spellings, the machines it exists on, its checks, its
// suggester, its export labels) is asked of the model's definition, never switched on.
// Adding a model: a case here, its definition in a file of its own (IntelIOMMU.swift is
// one), its rows in the property table (QEMU/PropertyTable.swift), and the docs.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The vIOMMU models QEMU can put in front of an assigned device.
package enum VIOMMUModel: String, Sendable, CaseIterable, Hashable {
  /// intel-iommu (q35).
  case intel
  /// virtio-iommu-pci (any machine).
  case virtio
  /// arm-smmuv3 (virt).
  case smmuv3
  /// amd-iommu (x86).
  case amd
  /// No vIOMMU: the assigned devices DMA into guest-physical memory directly.
  case none

  /// The model's definition.
  var definition: any VIOMMUModelDefinition {
    switch self {
    case .intel: IntelIOMMUModel()
    case .virtio: VirtioIOMMUModel()
    case .smmuv3: SMMUv3Model()
    case .amd: AMDIOMMUModel()
    case .none: NoVIOMMU()
    }
  }

  /// QEMU's device type name ("" for none).
  package var qemuDevice: String { definition.qemuDevice }

  /// libvirt's `<iommu model=…>` value.
  package var libvirtModel: String { definition.libvirtModel }

  /// Fills in what hiodctl presumes of options left unset for this model, and says so.
  package func assumptions(_ options: inout VIOMMUOptions) -> [String] { definition.assumptions(&options) }

  /// The model a QEMU `-device` driver name creates, if any.
  static func named(qemuDriver driver: String) -> VIOMMUModel? {
    allCases.first { $0 != .none && $0.definition.qemuDriverNames.contains(driver) }
  }
}

/// The machines a vIOMMU exists on.
enum VIOMMUMachines {
  /// Any machine (virtio-iommu-pci, or no vIOMMU).
  case any
  /// An x86 system-bus device: q35 only, and no such device in qemu-system-aarch64.
  case q35
  /// Arm's virt machine only.
  case armVirt
}

/// What libvirt makes of a domain's `<iommu>`.
enum LibvirtIOMMU {
  /// A `-device` with these JSON properties (name, JSON value), in libvirt's order.
  case device([(String, String)])
  /// The machine's own vIOMMU (`-machine virt,iommu=smmuv3`).
  case machineWide
}

/// One vIOMMU model, as hiodctl knows it. Each requirement is what the rest of the code
/// used to switch on the model for.
protocol VIOMMUModelDefinition: Sendable {
  /// QEMU's device type name ("" for none).
  var qemuDevice: String { get }
  /// Every `-device` driver name QEMU creates it from.
  var qemuDriverNames: [String] { get }
  /// libvirt's `<iommu model=…>`.
  var libvirtModel: String { get }
  /// The machines it exists on.
  var machines: VIOMMUMachines { get }
  /// Whether it is a PCI function of its own, taking a root-bus slot before the devices.
  var isPCIFunction: Bool { get }
  /// What hiodctl presumes of options left unset (intel's caching-mode=on), and why.
  func assumptions(_ options: inout VIOMMUOptions) -> [String]
  /// The machine QEMU would run without --machine.
  func defaultMachine(_ configuration: VIOMMUConfiguration) -> Effective<MachineType>
  /// The vIOMMU's own realize checks.
  func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome]
  /// Its refusal of the device's attach to the container or IOAS, if any.
  func attachRefusal(_ context: DeviceContext) -> Outcome?
  /// Its refusal of vfio-pci's memory listener (a MAP notifier it does not offer), if any.
  func listenerRefusal(_ context: DeviceContext) -> Outcome?
  /// Its checks of one assigned device, once VFIO realized it (set_iommu_device and on).
  func deviceOutcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome]
  /// The strongest configuration the devices accept, from `base` (the release and machine).
  func suggest(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion
  /// Orders configurations of the model from weakest to strongest (compared as a list).
  func strength(_ configuration: VIOMMUConfiguration) -> [Int]
  /// The QEMU option that creates it with `properties` (`aw-bits=39`).
  func qemuDeviceOption(_ configuration: VIOMMUConfiguration, properties: [String]) -> String
  /// The libvirt `<iommu>` element; nil when libvirt cannot express the configuration.
  func libvirtElement(_ configuration: VIOMMUConfiguration) -> String?
  /// The properties the element carries (the rest go to `<qemu:commandline>`).
  var libvirtCarriedProperties: Set<String> { get }
  /// What libvirt's qemu driver makes of `<iommu model=libvirtModel>` and its `<driver>`.
  func libvirtDevice(_ iommu: XMLElement, driver: XMLElement?, source: String) throws(CommandLineError) -> LibvirtIOMMU
  /// What a libvirt user must know about the element.
  func libvirtNotes(_ configuration: VIOMMUConfiguration) -> [String]
  /// The NFD labels of the model's fleet verdict (`viommu.intel=true`).
  func labels(_ verdict: FleetModelVerdict, compatible: Bool) -> [(String, String)]
}

extension VIOMMUModelDefinition {
  var qemuDriverNames: [String] { [qemuDevice] }
  var libvirtCarriedProperties: Set<String> { [] }
  func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] { [] }
  func deviceOutcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome] { [] }
  func listenerRefusal(_ context: DeviceContext) -> Outcome? { nil }
  func attachRefusal(_ context: DeviceContext) -> Outcome? { nil }
  var isPCIFunction: Bool { false }
  func assumptions(_ options: inout VIOMMUOptions) -> [String] { [] }
  func libvirtNotes(_ configuration: VIOMMUConfiguration) -> [String] { [] }

  /// `-device NAME,prop=value,…`.
  func qemuDeviceOption(_ configuration: VIOMMUConfiguration, properties: [String]) -> String {
    (["-device \(qemuDevice)"] + properties).joined(separator: ",")
  }

  /// q35, which x86 vIOMMUs need (QEMU's own default x86 machine is `pc`, i440fx, but
  /// intel-iommu needs q35 and nobody runs amd-iommu without it: assume what the user
  /// will have to use).
  func q35ByDefault() -> Effective<MachineType> {
    .byDefault(MachineType(family: MachineType.q35, version: nil), "\(qemuDevice) is used with q35")
  }
}

/// No vIOMMU: the devices DMA into guest-physical memory; only VFIO's checks apply.
struct NoVIOMMU: VIOMMUModelDefinition {
  var qemuDevice: String { "" }
  var qemuDriverNames: [String] { [] }
  var libvirtModel: String { "none" }
  var machines: VIOMMUMachines { .any }

  func defaultMachine(_ configuration: VIOMMUConfiguration) -> Effective<MachineType> { q35ByDefault() }

  func suggest(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    Suggestion(configuration: base, explanation: ["no vIOMMU: the devices need only what vfio-pci needs from the host"])
  }

  func strength(_ configuration: VIOMMUConfiguration) -> [Int] { [] }
  func qemuDeviceOption(_ configuration: VIOMMUConfiguration, properties: [String]) -> String { "" }
  func libvirtElement(_ configuration: VIOMMUConfiguration) -> String? { nil }
  func labels(_ verdict: FleetModelVerdict, compatible: Bool) -> [(String, String)] { [] }

  func libvirtDevice(_ iommu: XMLElement, driver: XMLElement?, source: String) throws(CommandLineError) -> LibvirtIOMMU
  {
    throw CommandLineError("\(source):\(iommu.line): <iommu model='none'> is no vIOMMU to check")
  }
}
