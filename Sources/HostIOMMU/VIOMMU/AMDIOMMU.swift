// hiodctl — amd-iommu and assigned devices. Before 10.2 every device is translated from
// the start and amd-iommu offers no MAP notifier, so vfio-pci's memory listener fails
// (VFIORealize). From 10.2 the devices start in passthrough; with dma-remap=on amd-iommu
// shadows the guest's mappings for VFIO, without it QEMU starts and the device's DMA
// then fails. It checks nothing on the host.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// hw/i386/amd_iommu.c amdvi_iommu_notify_flag_changed, amdvi_switch_address_space
// (7.2, 10.0.13, 10.2.2). Observed in the VM rig's oracle with QEMU 11.1.3: without
// dma-remap the VM starts, the assigned NIC transmits nothing and the host kernel logs
// DMA faults; with dma-remap=on it works.

/// amd-iommu's checks (device-level only: it has no configuration checks of its own).
enum AMDIOMMUChecks {
  /// dma-remap from 10.2 (the pre-10.2 refusal is the memory listener's).
  static func deviceOutcomes(_ context: DeviceContext) -> [Outcome] {
    guard let dmaRemap = context.configuration.dmaRemap else { return [] }
    let evidence = ["dma-remap=\(dmaRemap.value ? "on" : "off") (\(dmaRemap.reason))"]
    let span = ReleaseSpan.since(.v10_2).description
    guard dmaRemap.value else {
      return [
        Outcome(
          Finding(
            check: "amd.dma-remap", status: .fail,
            message:
              """
              QEMU starts, but amd-iommu without dma-remap=on does not translate \(context.name)'s DMA: \
              the guest's IOVAs reach the host IOMMU as guest-physical addresses, and its DMA fails
              """,
            wording: .hiodctl, qemuVersions: span,
            evidence: evidence + [
              """
              with dma-remap=off the device's address space stays passthrough: \
              VFIO maps guest RAM 1:1 and never sees the guest's mappings
              """
            ],
            remedy: Remedy(summary: "turn dma-remap on so amd-iommu shadows the guest's mappings for VFIO"),
            caveat: "a guest that keeps its IOMMU in passthrough (iommu=pt) would work", effect: .dmaFails),
          fix: { $0.dmaRemap = true }, phase: .runtime)
      ]
    }
    return [
      Outcome(
        Finding(
          check: "amd.dma-remap", status: .pass,
          message: "dma-remap=on: amd-iommu shadows the guest's mappings for VFIO (it checks nothing on the host)",
          wording: .hiodctl, qemuVersions: span, evidence: evidence))
    ]
  }
}

/// amd-iommu, in the registry.
struct AMDIOMMUModel: VIOMMUModelDefinition {
  var qemuDevice: String { "amd-iommu" }
  var libvirtModel: String { "amd" }
  var machines: VIOMMUMachines { .q35 }
  var isPCIFunction: Bool { true }

  func defaultMachine(_ configuration: VIOMMUConfiguration) -> Effective<MachineType> { q35ByDefault() }

  func deviceOutcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome] {
    AMDIOMMUChecks.deviceOutcomes(context)
  }

  /// Before 10.2 every device is translated from the start and amd-iommu offers no MAP
  /// notifier: registering vfio-pci's memory listener fails.
  func listenerRefusal(_ context: DeviceContext) -> Outcome? {
    guard QEMURules.applies("amd.notifier", in: context.qemu) else { return nil }
    let message = QEMURules.text("amd.notifier", in: context.qemu, VFIORealize.guestAddress(context)) ?? ""
    return Outcome(
      Finding(
        check: "amd.notifier", status: .fail,
        message: context.listener(region: QEMURules.text("amd.region", in: context.qemu) ?? "amd_iommu", message),
        qemuVersions: QEMURules.releases("amd.notifier", in: context.qemu),
        evidence: ["amd-iommu before QEMU 10.2 translates every device from the start and offers no MAP notifier"],
        remedy: Remedy(
          summary:
            """
            QEMU \(context.qemu) cannot assign devices behind amd-iommu: \
            use QEMU 10.2 or later with dma-remap=on, or intel-iommu / virtio-iommu
            """
        )))
  }

  func suggest(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    VIOMMUSuggester.amd(base)
  }

  func strength(_ configuration: VIOMMUConfiguration) -> [Int] { [configuration.dmaRemap?.value == true ? 1 : 0] }

  func libvirtElement(_ configuration: VIOMMUConfiguration) -> String? {
    // The 'amd' model is recent in libvirt (release UNVERIFIED).
    VIOMMUConfiguration.iommuElement(model: libvirtModel, driverAttributes: [])
  }

  func libvirtDevice(_ iommu: XMLElement, driver: XMLElement?, source: String) throws(CommandLineError) -> LibvirtIOMMU
  {
    var properties: [(String, String)] = [("driver", "\"amd-iommu\""), ("id", "\"iommu0\"")]
    for (attribute, property) in [("intremap", "intremap"), ("iotlb", "device-iotlb"), ("xtsup", "xtsup")] {
      if let value = driver?.attribute(attribute) {
        properties.append((property, value == "on" ? "true" : "false"))
      }
    }
    return .device(properties)
  }

  func libvirtNotes(_ configuration: VIOMMUConfiguration) -> [String] {
    ["the 'amd' iommu model needs a recent libvirt (release not verified by hiodctl)"]
  }

  func labels(_ verdict: FleetModelVerdict, compatible: Bool) -> [(String, String)] {
    [("viommu.amd", String(compatible))]
  }
}
