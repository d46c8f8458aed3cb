// hiodctl — amd-iommu's one gate for assigned devices: MAP notifiers, which it offers only
// with dma-remap=on (QEMU 10.2 on). It checks nothing on the host.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// abi-digest §2.4 (qemu/qemu hw/i386/amd_iommu.c @01f599d3, mst PULL Oct 2025 7e24cddf).

/// amd-iommu's checks (device-level only: it has no configuration checks of its own).
enum AMDIOMMUChecks {
  /// The notifier gate for one device. Host facts play no part: upstream amd-iommu has no
  /// `set_iommu_device`, so it never sees the HostIOMMUDevice.
  static func deviceOutcomes(_ context: DeviceContext) -> [Outcome] {
    let guest = context.guestAddressForMessages
    let wrapping =
      "QEMU reports it while vfio-pci registers its IOMMU notifier; the surrounding vfio/memory-listener prefix is not reproduced"
    let caveat = [wrapping, guest.caveat].compactMap { $0 }.joined(separator: "; ")
    guard context.qemu >= .v10_2 else {
      return [
        Outcome(
          Finding(
            check: "amd.notifier", status: .fail,
            message: "device \(guest.text) requires iommu notifier which is not currently supported",
            qemuVersions: ReleaseSpan.through(.v10_1).description,
            evidence: ["amd-iommu before QEMU 10.2 cannot shadow guest mappings for VFIO"],
            remedy: Remedy(
              summary:
                "QEMU \(context.qemu) cannot assign devices behind amd-iommu: use QEMU 10.2 or later with dma-remap=on, or intel-iommu / virtio-iommu"
            ),
            caveat: caveat))
      ]
    }
    let dmaRemap = context.configuration.dmaRemap ?? .byDefault(false, "amd-iommu defaults to dma-remap=off")
    let evidence = ["dma-remap=\(dmaRemap.value ? "on" : "off") (\(dmaRemap.reason))"]
    guard dmaRemap.value else {
      return [
        Outcome(
          Finding(
            check: "amd.dma-remap", status: .fail, message: "device \(guest.text) requires dma-remap=1",
            qemuVersions: ReleaseSpan.since(.v10_2).description, evidence: evidence,
            remedy: Remedy(summary: "turn dma-remap on so amd-iommu shadows the guest's mappings for VFIO"),
            caveat: caveat),
          fix: { $0.dmaRemap = true })
      ]
    }
    return [
      Outcome(
        Finding(
          check: "amd.dma-remap", status: .pass,
          message: "dma-remap=on: amd-iommu shadows the guest's mappings for VFIO (it checks nothing on the host)",
          wording: .hiodctl, qemuVersions: ReleaseSpan.since(.v10_2).description, evidence: evidence))
    ]
  }
}
