// hiodctl — virtio-iommu's checks: host reserved ranges and the page-size mask, across all
// devices of the VM, in the order QEMU plugs them.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// abi-digest §2.2 (qemu/qemu hw/virtio/virtio-iommu.c @d7c8c95f and the 9.1 series). Two
// details come from that series' patches on qemu-devel rather than the digest: the vIOMMU's
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
  var registered: Set<GuestPCIAddress> = []
  /// Host reserved ranges per requester ID (the first device of an alias sets them).
  var reserved: [GuestPCIAddress: [IOVARange]] = [:]

  /// The host page size assumed for `granule=host`: 4 KiB. hiodctl cannot read the page
  /// size of the host that will run QEMU (arm64 kernels may use 16 KiB or 64 KiB).
  static let assumedHostPageSize: UInt64 = 4 << 10

  init(_ configuration: VIOMMUConfiguration) {
    let granule = configuration.granule?.value ?? .host
    let bytes = granule.bytes ?? Self.assumedHostPageSize
    // -(granule): every page size from the granule up.
    mask = 0 &- bytes
    maskOrigin =
      granule == .host
      ? "granule=host: the host page size, assumed 4 KiB → mask \(mask.qemuHex)"
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
            check: "virtio.aw-bits.range", status: .fail, message: "aw-bits must be within [32,64]",
            qemuVersions: ReleaseSpan.since(.v9_0).description, evidence: evidence,
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

  /// `virtio_iommu_set_iommu_device` for one device (9.1 on; 9.0 made the same checks from
  /// the VFIO memory listener with other wording).
  static func deviceOutcomes(_ context: DeviceContext, state: inout VirtioState) -> [Outcome] {
    let legacyWording = context.qemu < .v9_1
    var outcomes: [Outcome] = []
    if !legacyWording, let placement = context.input.guestPlacement {
      if state.registered.contains(placement.address) {
        outcomes.append(
          Outcome(
            Finding(
              check: "virtio.host-iommu-device.duplicate", status: .fail,
              message: context.setIOMMUDeviceError("Host IOMMU device already exists"),
              qemuVersions: ReleaseSpan.since(.v9_1).description,
              evidence: ["another host device is already registered at guest \(placement.address)"],
              remedy: Remedy(summary: "give every assigned device its own guest slot"))))
        return outcomes
      }
      state.registered.insert(placement.address)
    }
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
            remedy: Remedy(summary: "realize the device through the kernel (--backend legacy or iommufd)"))))
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

  /// `virtio_iommu_set_host_iova_ranges`: the first device of a requester ID sets the
  /// reserved ranges; a later one (an alias behind the same bridge) must have each of its
  /// reserved ranges inside one already set.
  static func reservedRanges(
    _ context: DeviceContext, ranges: [IOVARange], source: String, predicted: Bool, state: inout VirtioState
  ) -> Outcome {
    let reserved = reservedRanges(complementing: ranges)
    var evidence = [
      "usable IOVA ranges \(ranges.map(\.description).joined(separator: ", ")) (\(source))",
      "host reserved ranges reported to the guest: \(reserved.map(\.description).joined(separator: ", "))",
    ]
    let key = context.input.guestPlacement?.requesterID
    guard let key, let existing = state.reserved[key] else {
      if let key { state.reserved[key] = reserved }
      return Outcome(
        Finding(
          check: "virtio.reserved-ranges", status: .pass,
          message: "the host's reserved ranges become reserved regions of the guest device", wording: .hiodctl,
          qemuVersions: ReleaseSpan.all.description, evidence: evidence, predicted: predicted,
          caveat: key == nil
            ? "assumes no other assigned device shares this device's requester ID in the guest (only devices behind one PCIe-to-PCI bridge do)"
            : nil))
    }
    evidence.append(
      "requester ID \(key) already has reserved ranges \(existing.map(\.description).joined(separator: ", "))")
    let conflicting = reserved.filter { new in
      !existing.contains { $0.start <= new.start && new.last <= $0.last }
    }
    guard !conflicting.isEmpty else {
      return Outcome(
        Finding(
          check: "virtio.reserved-ranges", status: .pass,
          message: "every host reserved range lies inside one already set for requester ID \(key)", wording: .hiodctl,
          qemuVersions: ReleaseSpan.all.description, evidence: evidence, predicted: predicted))
    }
    evidence.append("not inside an existing one: \(conflicting.map(\.description).joined(separator: ", "))")
    let legacyWording = context.qemu < .v9_1
    return Outcome(
      Finding(
        check: "virtio.reserved-ranges", status: .fail,
        message: legacyWording
          ? "IOMMU mr=<IOMMU memory region> Conflicting host reserved ranges set!"
          : context.setIOMMUDeviceError("virtio_iommu_set_host_iova_ranges Conflicting host reserved ranges set!"),
        wording: legacyWording ? .hiodctl : .qemu,
        qemuVersions: legacyWording ? ReleaseSpan.through(.v9_0).description : ReleaseSpan.since(.v9_1).description,
        evidence: evidence, predicted: predicted,
        remedy: Remedy(
          summary:
            "devices whose DMA aliases in the guest must have compatible host reserved regions: put them on separate PCIe root ports"
        ),
        caveat: legacyWording ? "QEMU 9.0 names the IOMMU memory region, which hiodctl cannot name" : nil))
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
    let legacyWording = context.qemu < .v9_1
    let span = legacyWording ? ReleaseSpan.through(.v9_0) : .since(.v9_1)
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
      "host page sizes \(new.qemuHex) (\(pageSizeNames(new).joined(separator: ", "))) (\(DeviceContext.source(sourced.provenance)))",
      "vIOMMU mask \(current.qemuHex) (\(state.maskOrigin))",
    ]
    if state.mask != (VirtioState(context.configuration).mask) {
      evidence.append("narrowed by the devices plugged before this one")
    }
    // 9.1 on: errors prefixed with the hiod name, then by vfio-pci.
    // 9.0 named the IOMMU memory region after "virtio-iommu " instead.
    func qemuMessage(_ rest: String) -> String {
      legacyWording
        ? "virtio-iommu <IOMMU memory region> \(rest)"
        : context.setIOMMUDeviceError("\(context.name): virtio-iommu \(rest)")
    }
    let wording: MessageWording = legacyWording ? .hiodctl : .qemu
    let legacyCaveat = legacyWording ? "QEMU 9.0 names the IOMMU memory region, which hiodctl cannot name" : nil

    if current & new == 0 {
      let granule = suggestedGranule(for: new)
      var fix: OptionsFix?
      if let granule { fix = { $0.granule = granule } }
      return Outcome(
        Finding(
          check: "virtio.page-size-mask", status: .fail,
          message: qemuMessage(
            "reports a page size mask \(new.qemuHex) incompatible with currently supported mask \(current.qemuHex)"),
          wording: wording, qemuVersions: span.description, evidence: evidence, predicted: predicted,
          remedy: Remedy(
            summary: granule.map { "use granule=\($0.rawValue), a page size the host IOMMU supports" }
              ?? "the host IOMMU shares no page size with the vIOMMU (or with the devices plugged before): use separate VMs or vIOMMUs"
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
            message: qemuMessage("does not support frozen granule \(currentGranule.qemuHex)"),
            wording: wording, qemuVersions: span.description, evidence: evidence, predicted: predicted,
            remedy: Remedy(
              summary:
                "cold-plug the device (put it on the command line) so the mask can still narrow, or start the VM with a granule the host supports"
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
