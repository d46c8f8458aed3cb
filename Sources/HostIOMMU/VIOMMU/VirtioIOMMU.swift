// hiodctl — virtio-iommu's checks: host reserved ranges and the page-size mask, across all
// devices of the VM, in the order QEMU plugs them.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// QEMU hw/virtio/virtio-iommu.c `virtio_iommu_set_iommu_device` (qemu @d7c8c95f; introduced
// by the HostIOMMUDevice series of 9.1, vfio pull of July 2024). Two details come from that
// series' patches on qemu-devel rather than from virtio-iommu.c as read: the vIOMMU's
// starting mask is -(granule) ("with 4k granule, it is -(4 * KiB)"), and the reserved-range
// state is keyed by the device's aliased bus/devfn (`hiod->aliased_bus/aliased_devfn`)
// while the duplicate check uses its own bus/devfn.

/// What virtio-iommu remembers between devices of one VM.
struct VirtioState {
  /// The page-size mask offered to the guest; narrows with each cold-plugged device.
  var mask: UInt64
  /// How the starting mask was chosen.
  let maskOrigin: String
  /// Own guest addresses that already have a host IOMMU device.
  var registered: Set<String> = []
  /// Requester IDs that already have host reserved ranges (the first device of an alias).
  var requesterIDs: Set<String> = []

  init(_ configuration: VIOMMUConfiguration) {
    let granule = configuration.granule?.value ?? .host
    let bytes = granule.bytes ?? UInt64(hostPageSize)
    // -(granule): every page size from the granule up.
    mask = 0 &- bytes
    maskOrigin =
      granule == .host
      ? "granule=host: this host's page size \(hostPageSize) → mask \(mask.qemuHex)"
      : "granule=\(granule.rawValue) → mask \(mask.qemuHex)"
  }
}

extension UInt64 {
  /// `0x` and lower-case hex, unpadded: QEMU's `0x%"PRIx64` and `0x%llx`.
  var qemuHex: String { "0x" + String(self, radix: 16) }
}

enum VirtioIOMMUChecks {
  // MARK: Configuration

  /// virtio-iommu's realize check on aw-bits.
  static func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    guard let awBits = configuration.awBits else { return [] }
    let evidence = ["aw-bits \(awBits.value) (\(awBits.reason))"]
    guard (32...64).contains(awBits.value) else {
      let replacement = min(max(awBits.value, 32), 64)
      return [
        Outcome(
          Finding(
            check: "virtio.aw-bits.range", status: .fail,
            message: QEMURules.text("virtio.aw-bits.range", in: configuration.qemu) ?? "",
            qemuVersions: QEMURules.releases("virtio.aw-bits.range", in: configuration.qemu), evidence: evidence,
            remedy: Remedy(summary: "use aw-bits between 32 and 64 (\(replacement))")),
          fix: { $0.awBits = replacement })
      ]
    }
    return [
      Outcome(
        Finding(
          check: "virtio.aw-bits.range", status: .pass, message: "aw-bits \(awBits.value) is within [32,64]",
          wording: .hiodctl, qemuVersions: ReleaseSpan.since(.v9_0).description, evidence: evidence))
    ]
  }

  // MARK: Devices

  /// `virtio_iommu_set_iommu_device` for one device (9.1 on). Before 9.1 virtio-iommu
  /// checks host devices only from the memory listener once the guest enables
  /// translation (boot-bypass=on keeps it off at start).
  static func deviceOutcomes(_ context: DeviceContext, state: inout VirtioState) -> [Outcome] {
    let qemu = context.qemu
    guard QEMURules.applies("virtio.page-size-mask", in: qemu) else {
      return [
        Outcome(
          Finding(
            check: "virtio.host-iommu-device", status: .pass,
            message:
              """
              QEMU \(qemu)'s virtio-iommu does not check host devices when they are plugged \
              (set_iommu_device arrived in 9.1)
              """,
            wording: .hiodctl, qemuVersions: ReleaseSpan.through(.v9_0).description,
            caveat:
              """
              the page sizes are compared when the guest enables translation; \
              on x86 the host's page sizes always include 4 KiB
              """
          ))
      ]
    }
    var outcomes: [Outcome] = []
    let placement = context.placement
    if state.registered.contains(placement.ownKey) {
      outcomes.append(
        Outcome(
          Finding(
            check: "virtio.host-iommu-device.duplicate", status: .fail,
            message: context.setIOMMUDeviceError(QEMURules.text("virtio.host-iommu-device.duplicate", in: qemu) ?? ""),
            qemuVersions: QEMURules.releases("virtio.host-iommu-device.duplicate", in: qemu),
            evidence: ["another host device is already registered at guest \(placement.address)"],
            remedy: Remedy(summary: "give every assigned device its own guest slot"))))
      return outcomes
    }
    state.registered.insert(placement.ownKey)
    guard let hiod = context.hiod else { return outcomes }
    guard let ranges = hiod.iovaRanges else {
      outcomes.append(
        Outcome(
          Finding(
            check: "virtio.iova-ranges", status: .undetermined,
            message: "the host's usable IOVA ranges are unknown, so the reserved-range and page-size checks cannot run",
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description,
            evidence: [context.backendEvidence] + hiod.notes,
            predicted: context.isPredicted,
            remedy: Remedy(summary: "realize the device through the kernel (--backend legacy)"))))
      return outcomes
    }
    let rangeSource = DeviceContext.source(ranges.provenance)
    let predicted = ranges.provenance.isPrediction
    guard !ranges.value.isEmpty else {
      outcomes.append(
        Outcome(
          Finding(
            check: "virtio.iova-ranges", status: .pass,
            message: "the kernel reports no IOVA ranges: QEMU skips the reserved-range and page-size checks",
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: ["no IOVA ranges (\(rangeSource))"],
            predicted: predicted)))
      return outcomes
    }
    outcomes.append(
      reservedRanges(context, ranges: ranges.value, source: rangeSource, predicted: predicted, state: &state))
    if outcomes.last?.finding.status == .fail { return outcomes }
    if let aw = awBitsNote(context, hostAW: qemuAWBits(ranges.value), source: rangeSource, predicted: predicted) {
      outcomes.append(aw)
    }
    if let pageSizes = pageSizeMask(context, state: &state) {
      outcomes.append(pageSizes)
    }
    return outcomes
  }

  /// The complement of the usable ranges over [0, UINT64_MAX]: what virtio-iommu reports
  /// to the guest as reserved (RESV_MEM) regions. `ranges` ascending.
  static func reservedRanges(complementing ranges: [IOVARange]) -> [IOVARange] {
    var reserved: [IOVARange] = []
    var next: UInt64? = 0  // first address not yet covered; nil past UINT64_MAX
    for range in ranges.sorted() {
      guard let start = next else { break }
      if range.start > start { reserved.append(IOVARange(start: start, last: range.start - 1)) }
      if range.last >= start { next = range.last == .max ? nil : range.last + 1 }
    }
    if let start = next { reserved.append(IOVARange(start: start, last: .max)) }
    return reserved
  }

  /// `virtio_iommu_set_host_iova_ranges`: the host's reserved ranges become the guest
  /// device's; a second device with the same requester ID (behind one PCI bridge) is
  /// refused since 9.1.
  static func reservedRanges(
    _ context: DeviceContext, ranges: [IOVARange], source: String, predicted: Bool, state: inout VirtioState
  ) -> Outcome {
    let reserved = reservedRanges(complementing: ranges)
    var evidence = [
      "usable IOVA ranges \(ranges.map(\.description).joined(separator: ", ")) (\(source))",
      "host reserved ranges reported to the guest: \(reserved.map(\.description).joined(separator: ", "))",
    ]
    let key = context.placement.addressSpaceKey
    guard state.requesterIDs.contains(key) else {
      state.requesterIDs.insert(key)
      return Outcome(
        Finding(
          check: "virtio.reserved-ranges", status: .pass,
          message: "the host's reserved ranges become reserved regions of the guest device", wording: .hiodctl,
          qemuVersions: ReleaseSpan.all.description, evidence: evidence, predicted: predicted,
          caveat: context.origin == .flags
            ? """
            assumes no other assigned device shares this device's requester ID in the guest \
            (only devices behind one PCIe-to-PCI bridge do)
            """
            : nil))
    }
    evidence.append(
      """
      requester ID \(context.placement.requesterID) already belongs to another assigned device \
      (they sit behind one PCI bridge)
      """
    )
    return Outcome(
      Finding(
        check: "virtio.reserved-ranges", status: .fail,
        message: context.setIOMMUDeviceError(QEMURules.text("virtio.aliased", in: context.qemu) ?? ""),
        qemuVersions: QEMURules.releases("virtio.aliased", in: context.qemu), evidence: evidence, predicted: predicted,
        remedy: Remedy(
          summary:
            "devices whose DMA aliases in the guest cannot share virtio-iommu: put them on separate PCIe root ports")))
  }

  /// virtio-iommu never compares aw-bits with the host. Said explicitly when the host is
  /// narrower, for users who expect intel-iommu's "aw-bits > host aw-bits" refusal.
  static func awBitsNote(_ context: DeviceContext, hostAW: Int, source: String, predicted: Bool) -> Outcome? {
    guard let awBits = context.configuration.awBits, hostAW < awBits.value else { return nil }
    return Outcome(
      Finding(
        check: "virtio.aw-bits.host", status: .pass,
        message:
          "virtio-iommu does not compare aw-bits with the host; a host narrower than aw-bits becomes a reserved range",
        wording: .hiodctl, qemuVersions: ReleaseSpan.all.description,
        evidence: ["vIOMMU aw-bits \(awBits.value) (\(awBits.reason))", "host aw_bits \(hostAW) (\(source))"],
        predicted: predicted))
  }

  /// The page-size mask: host and vIOMMU masks must intersect; after machine start the
  /// granule is frozen and a hot-plugged device must support it; a cold-plugged device
  /// narrows the mask.
  static func pageSizeMask(_ context: DeviceContext, state: inout VirtioState) -> Outcome? {
    guard let hiod = context.hiod else { return nil }
    let span = ReleaseSpan.since(.v9_1)
    guard let sourced = hiod.pageSizeMask else {
      return Outcome(
        Finding(
          check: "virtio.page-size-mask", status: .undetermined,
          message: "the host's IOMMU page sizes are unknown", wording: .hiodctl, qemuVersions: span.description,
          evidence: [context.backendEvidence], predicted: context.isPredicted))
    }
    let new = sourced.value
    let current = state.mask
    let predicted = sourced.provenance.isPrediction
    var evidence = [
      """
      host page sizes \(new.qemuHex) (\(pageSizeNames(new).joined(separator: ", "))) \
      (\(DeviceContext.source(sourced.provenance)))
      """,
      "vIOMMU mask \(current.qemuHex) (\(state.maskOrigin))",
    ]
    if state.mask != (VirtioState(context.configuration).mask) {
      evidence.append("narrowed by the devices plugged before this one")
    }
    let wording: MessageWording = .qemu
    let legacyCaveat: String? = nil

    if current & new == 0 {
      let granule = suggestedGranule(for: new)
      var fix: OptionsFix?
      if let granule { fix = { $0.granule = granule } }
      return Outcome(
        Finding(
          check: "virtio.page-size-mask", status: .fail,
          message: context.setIOMMUDeviceError(
            QEMURules.text(
              "virtio.page-size-mask", in: context.qemu, [.string(context.name), .uint(new), .uint(current)]) ?? ""),
          wording: wording, qemuVersions: span.description, evidence: evidence, predicted: predicted,
          remedy: Remedy(
            summary: granule.map { "use granule=\($0.rawValue), a page size the host IOMMU supports" }
              ?? """
              the host IOMMU shares no page size with the vIOMMU (or with the devices plugged before): \
              use separate VMs or vIOMMUs
              """
          ),
          caveat: legacyCaveat),
        fix: fix)
    }
    let currentGranule = UInt64(1) << UInt64(current.trailingZeroBitCount)
    if context.input.hotplug {
      // The granule froze when the machine was ready; the mask no longer narrows.
      guard currentGranule & new != 0 else {
        return Outcome(
          Finding(
            check: "virtio.granule.frozen", status: .fail,
            message: context.setIOMMUDeviceError(
              QEMURules.text("virtio.frozen-granule", in: context.qemu, [.string(context.name), .uint(currentGranule)])
                ?? ""),
            wording: wording, qemuVersions: span.description, evidence: evidence, predicted: predicted,
            remedy: Remedy(
              summary:
                """
                cold-plug the device (put it on the command line) so the mask can still narrow, \
                or start the VM with a granule the host supports
                """
            ),
            caveat: legacyCaveat))
      }
      return Outcome(
        Finding(
          check: "virtio.granule.frozen", status: .pass,
          message: "hot-plugged: the host supports the frozen granule \(currentGranule.qemuHex)", wording: .hiodctl,
          qemuVersions: span.description, evidence: evidence, predicted: predicted))
    }
    state.mask = current & new
    let frozen = UInt64(1) << UInt64(state.mask.trailingZeroBitCount)
    return Outcome(
      Finding(
        check: "virtio.page-size-mask", status: .pass,
        message: "the page sizes intersect; cold-plugged, the device narrows the vIOMMU mask to \(state.mask.qemuHex)",
        wording: .hiodctl, qemuVersions: span.description, evidence: evidence, predicted: predicted,
        caveat:
          "the granule freezes at machine start (\(frozen.qemuHex) so far): a device hot-plugged later must support it")
    )
  }

  /// The smallest `granule` value the host mask supports, if any.
  static func suggestedGranule(for hostMask: UInt64) -> Granule? {
    Granule.allCases.first { granule in granule.bytes.map { hostMask & $0 != 0 } ?? false }
  }
}

/// virtio-iommu-pci, in the registry.
struct VirtioIOMMUModel: VIOMMUModelDefinition {
  var qemuDevice: String { "virtio-iommu-pci" }
  var qemuDriverNames: [String] { ["virtio-iommu-pci", "virtio-iommu"] }
  var libvirtModel: String { "virtio" }
  var machines: VIOMMUMachines { .any }
  var isPCIFunction: Bool { true }

  func defaultMachine(_ configuration: VIOMMUConfiguration) -> Effective<MachineType> {
    configuration.architecture == .arm
      ? .byDefault(MachineType(family: MachineType.virt, version: nil), "an Arm guest: virt")
      : .byDefault(
        MachineType(family: MachineType.q35, version: nil), "an x86 guest: q35 assumed (pass --machine for i440fx)")
  }

  func configurationOutcomes(_ configuration: VIOMMUConfiguration) -> [Outcome] {
    VirtioIOMMUChecks.configurationOutcomes(configuration)
  }

  func deviceOutcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome] {
    VirtioIOMMUChecks.deviceOutcomes(context, state: &state.virtio)
  }

  func suggest(_ base: VIOMMUConfiguration, devices: [DeviceCheckInput], host: HostFacts) -> Suggestion {
    VIOMMUSuggester.virtio(base, devices: devices, host: host)
  }

  func libvirtDevice(_ iommu: XMLElement, driver: XMLElement?, source: String) throws(CommandLineError) -> LibvirtIOMMU
  {
    var properties: [(String, String)] = [("driver", "\"virtio-iommu\""), ("id", "\"iommu0\"")]
    if let granule = driver?.child("granule") {
      if granule.attribute("mode") == "host" {
        properties.append(("granule", "\"host\""))
      } else if let size = granule.attribute("size"), let value = UInt64(size),
        let kib = LibvirtDomain.mebibytes(value, unit: granule.attribute("unit") ?? "KiB", kibibytes: true)
      {
        properties.append(("granule", "\"\(kib)k\""))
      }
    }
    if let awBits = driver?.attribute("aw_bits") { properties.append(("aw-bits", awBits)) }
    properties += LibvirtDomain.address(iommu.child("address"), controllers: [:])
    return .device(properties)
  }

  /// aw-bits.
  func strength(_ configuration: VIOMMUConfiguration) -> [Int] { [configuration.awBits?.value ?? 0] }

  func libvirtElement(_ configuration: VIOMMUConfiguration) -> String? {
    // aw-bits and granule go through <qemu:commandline>: hiodctl is not sure which
    // libvirt release (if any) accepts aw_bits/granule for the virtio model.
    VIOMMUConfiguration.iommuElement(model: libvirtModel, driverAttributes: [])
  }

  func labels(_ verdict: FleetModelVerdict, compatible: Bool) -> [(String, String)] {
    [("viommu.virtio", String(compatible))]
  }
}
