// hiodctl — the device-level prerequisites every vIOMMU check rests on: can QEMU's vfio-pci
// open and attach the device at all, and did the kernel answer or only sysfs?
// SPDX-License-Identifier: GPL-2.0-or-later
//
// QEMU's messages are abi-digest §1.7 (legacy container/group sequence). The iommufd path's
// messages are not in the digest, so those findings carry hiodctl's words.

import SystemPackage

enum VFIOPrerequisites {
  /// The findings about realizing the device, first in QEMU's order (vfio-pci realize
  /// attaches the device before any vIOMMU sees it).
  static func outcomes(_ context: DeviceContext) -> [Outcome] {
    let realization = context.input.realization
    if let hiod = context.hiod, hiod.backend != .sysfs {
      return [Outcome(realized(context, hiod: hiod))]
    }
    if let hiod = context.hiod, realization.requested == .sysfs {
      // No kernel was asked, but what sysfs shows QEMU would fail on first still decides
      // (as far as the input tells: without the group, its viability is not known here).
      if let failure = sysfsPreconditionFailure(context) {
        return [Outcome(failed(context, failure))]
      }
      return [
        Outcome(
          Finding(
            check: "vfio.realize", status: .pass,
            message: "predicted from sysfs as asked (--backend sysfs): the kernel was not asked",
            wording: .hiodctl, qemuVersions: ReleaseSpan.all.description,
            evidence: ["\(hiod.name): \(hiod.backend.qemuType)"] + hiod.notes, predicted: true))
      ]
    }
    guard let failure = realization.primaryFailure else {
      return [
        Outcome(
          Finding(
            check: "vfio.kernel", status: .undetermined,
            message: "the device was not realized: no backend was tried", wording: .hiodctl,
            qemuVersions: ReleaseSpan.all.description))
      ]
    }
    return [Outcome(failed(context, failure))]
  }

  /// What sysfs alone shows QEMU's vfio-pci would fail on: no IOMMU group, not bound to a
  /// VFIO driver, and (when the group is known) a no-IOMMU or non-viable group.
  private static func sysfsPreconditionFailure(_ context: DeviceContext) -> RealizeFailure? {
    let device = context.input.device
    if let group = context.input.group {
      do {
        _ = try Preconditions.vfioGroup(of: device, group: group, backend: .sysfs)
      } catch {
        return error
      }
      return nil
    }
    if device.iommuGroup == nil { return Preconditions.noGroup(device, backend: .sysfs) }
    if !device.isVFIOBound { return Preconditions.notBound(device, backend: .sysfs) }
    return nil
  }

  /// The kernel realized the device: say how, and what failed on the way.
  private static func realized(_ context: DeviceContext, hiod: HostIOMMUDevice) -> Finding {
    var evidence = [context.backendEvidence, "realized as \(hiod.backend.qemuType)"]
    for attempt in context.input.realization.attempts {
      if let failure = attempt.failure {
        evidence.append("\(attempt.backend.rawValue) tried first and failed: \(failure.message)")
      }
    }
    evidence += hiod.notes
    return Finding(
      check: "vfio.realize", status: .pass,
      message:
        "the kernel attached \(context.name) through the \(hiod.backend.rawValue) backend, as QEMU's vfio-pci does",
      wording: .hiodctl, qemuVersions: ReleaseSpan.all.description, evidence: evidence)
  }

  /// A realize that failed: QEMU's error when QEMU fails the same way, else an
  /// undetermined finding saying what the kernel could not be asked.
  private static func failed(_ context: DeviceContext, _ failure: RealizeFailure) -> Finding {
    var evidence = [
      failure.step == "sysfs"
        ? "sysfs shows: \(failure.message)" : "\(failure.backend.rawValue): \(failure.step) failed: \(failure.message)"
    ]
    if let errno = failure.errno { evidence.append("errno \(errno.symbol) (\(errno.description))") }
    let hostFix = failure.hints.isEmpty ? nil : failure.hints.joined(separator: "; ")
    let groupText = context.input.device.iommuGroup.map(String.init) ?? "?"
    let versions = ReleaseSpan.all.description
    // QEMU without iommufd= uses the legacy path; its messages are the digest's.
    let legacyQEMU = context.qemuBackend != .iommufd
    let predictedNote = context.hiod == nil ? nil : "the vIOMMU findings below are predicted from sysfs"

    switch failure.problem {
    case .groupNotViable:
      if legacyQEMU {
        return Finding(
          check: "vfio.group-viable", status: .fail,
          message: context.vfioPrefix + "group \(groupText) is not viable",
          qemuHint: "Please ensure all devices within the iommu_group are bound to their vfio bus driver.",
          qemuVersions: versions, evidence: evidence,
          remedy: Remedy(
            summary: "bind every device of group \(groupText) to vfio-pci (or leave it unbound)", host: hostFix),
          caveat: predictedNote)
      }
      return Finding(
        check: "vfio.group-viable", status: .fail,
        message:
          "the kernel refuses to bind \(context.name) to /dev/iommu: group \(groupText) is not viable (a member is on a host driver)",
        wording: .hiodctl, qemuVersions: versions, evidence: evidence,
        remedy: Remedy(
          summary: "bind every device of group \(groupText) to vfio-pci (or leave it unbound)", host: hostFix),
        caveat: predictedNote)

    case .noIOMMUGroup:
      return Finding(
        check: "vfio.iommu-group", status: .fail,
        message: legacyQEMU
          ? context.vfioPrefix + "no iommu_group found"
          : "\(context.name) has no IOMMU group, so no VFIO driver can bind it",
        wording: legacyQEMU ? .qemu : .hiodctl, qemuVersions: versions, evidence: evidence,
        remedy: Remedy(summary: "put the device behind an enabled IOMMU", host: hostFix))

    case .noIOMMUMode:
      // QEMU opens /dev/vfio/<group>; a no-IOMMU group is /dev/vfio/noiommu-<group>.
      return Finding(
        check: "vfio.noiommu", status: .fail,
        message: legacyQEMU
          ? context.vfioPrefix + "failed to open /dev/vfio/\(groupText)"
          : "\(context.name) is in an unsafe no-IOMMU group, which QEMU cannot use",
        wording: legacyQEMU ? .qemu : .hiodctl, qemuVersions: versions, evidence: evidence,
        remedy: Remedy(summary: "enable the IOMMU instead of VFIO's no-IOMMU mode", host: hostFix))

    case .notBoundToVFIO:
      return notBound(context, evidence: evidence, hostFix: hostFix, legacyQEMU: legacyQEMU, caveat: predictedNote)

    case .noMSIIsolation:
      // EPERM at VFIO_SET_IOMMU (first group) or VFIO_GROUP_SET_CONTAINER (later groups),
      // or at VFIO_DEVICE_BIND_IOMMUFD: QEMU hits it as hiodctl did.
      if legacyQEMU {
        return Finding(
          check: "vfio.msi-isolation", status: .fail,
          message: context.vfioPrefix
            + "failed to setup container for group \(groupText): Failed to set iommu for container",
          qemuVersions: versions, evidence: evidence,
          remedy: Remedy(summary: "enable interrupt remapping so VFIO can isolate MSIs", host: hostFix),
          caveat: [
            "for a second group in the same container QEMU fails at VFIO_GROUP_SET_CONTAINER instead (\"Failed to set group container\")",
            predictedNote,
          ].compactMap { $0 }.joined(separator: "; "))
      }
      return Finding(
        check: "vfio.msi-isolation", status: .fail,
        message: "the kernel refuses to bind \(context.name) to /dev/iommu (EPERM): the platform cannot isolate MSIs",
        wording: .hiodctl, qemuVersions: versions, evidence: evidence,
        remedy: Remedy(summary: "enable interrupt remapping so VFIO can isolate MSIs", host: hostFix),
        caveat: predictedNote)

    case .busy, .permissionDenied, .backendUnavailable, .notADevice, .kernelRefused:
      let why: String =
        switch failure.problem {
        case .busy: "the device is in use by another process (a running VM?)"
        case .permissionDenied: "hiodctl may not open its VFIO nodes (QEMU, run by root or libvirt, usually may)"
        case .backendUnavailable: "the \(failure.backend.rawValue) backend is not available to hiodctl"
        case .notADevice: "the tree is a capture, not a live host"
        default: "the kernel refused a step hiodctl does not interpret (QEMU may fail there too)"
        }
      let rest =
        context.hiod == nil
        ? "; sysfs gives no prediction either" : "; the vIOMMU findings below are predicted from sysfs"
      return Finding(
        check: "vfio.kernel", status: .undetermined,
        message: "the kernel could not be asked: \(why)\(rest)", wording: .hiodctl,
        qemuVersions: versions, evidence: evidence, predicted: context.hiod != nil,
        remedy: hostFix.map { Remedy(summary: "let hiodctl ask the kernel", host: $0) })
    }
  }

  /// Not bound to a VFIO driver: which of QEMU's errors depends on whether the group's
  /// `/dev/vfio/N` exists (another member is VFIO-bound) and on this device's driver.
  private static func notBound(
    _ context: DeviceContext, evidence: [String], hostFix: String?, legacyQEMU: Bool, caveat: String?
  ) -> Finding {
    let device = context.input.device
    let groupText = device.iommuGroup.map(String.init) ?? "?"
    let remedy = Remedy(
      summary: "bind \(context.name) to vfio-pci", host: hostFix ?? "driverctl set-override \(context.name) vfio-pci")
    let versions = ReleaseSpan.all.description
    guard legacyQEMU else {
      return Finding(
        check: "vfio.driver", status: .fail,
        message: "\(context.name) has no VFIO cdev: it is not bound to a VFIO driver", wording: .hiodctl,
        qemuVersions: versions, evidence: evidence, remedy: remedy, caveat: caveat)
    }
    if let group = context.input.group, group.vfioNode?.present == true {
      if device.driverRole.blocksViability {
        // The device's own host driver owns the group's DMA.
        return Finding(
          check: "vfio.group-viable", status: .fail, message: context.vfioPrefix + "group \(groupText) is not viable",
          qemuHint: "Please ensure all devices within the iommu_group are bound to their vfio bus driver.",
          qemuVersions: versions, evidence: evidence, remedy: remedy, caveat: caveat)
      }
      return Finding(
        check: "vfio.driver", status: .fail,
        message: context.vfioPrefix + "error getting device from group \(groupText)",
        // QEMU's hint says "vfio-<bus>" literally.
        qemuHint: "Verify all devices in group \(groupText) are bound to vfio-<bus> or pci-stub and not already in use",
        qemuVersions: versions, evidence: evidence, remedy: remedy, caveat: caveat)
    }
    let known = context.input.group != nil
    return Finding(
      check: "vfio.driver", status: .fail, message: context.vfioPrefix + "failed to open /dev/vfio/\(groupText)",
      qemuVersions: versions,
      evidence: evidence
        + (known ? ["/dev/vfio/\(groupText) does not exist: no member of the group is VFIO-bound"] : []),
      remedy: remedy,
      caveat: [
        known
          ? nil
          : "the group's members were not given: if another member is VFIO-bound, /dev/vfio/\(groupText) exists and QEMU says \"group \(groupText) is not viable\" (this device on a host driver) or \"error getting device from group \(groupText)\" instead",
        caveat,
      ].compactMap { $0 }.joined(separator: "; ").nilIfEmpty)
  }
}

extension String {
  /// nil for the empty string (joined caveat lists).
  var nilIfEmpty: String? { isEmpty ? nil : self }
}
