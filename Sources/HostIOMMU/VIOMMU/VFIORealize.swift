// hiodctl — what vfio-pci's realize does before any vIOMMU sees the device, in QEMU's
// order and words: find the group (legacy) or the cdev (iommufd), open it, attach it to a
// container or an IOAS in the device's address space, map guest RAM through the memory
// listener (which also registers the vIOMMU's notifiers), and get the device.
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Order and messages: hw/vfio/pci.c vfio_realize, container.c vfio_get_group /
// vfio_connect_container / vfio_legacy_attach_device, iommufd.c iommufd_cdev_attach
// (10.0.13, 10.2.2); pci.c, common.c (7.2); the lines Debian's 7.2.22, 10.0.13 and 11.1.3
// printed in the VM rig's oracle (Tests/Fixtures/qemu-oracle).

import SystemPackage

/// What QEMU remembers between the devices of one VM while it realizes them.
struct RealizeState {
  /// Host devices already realized (QEMU refuses a second one: "device is already
  /// attached", or the kernel's EINVAL on a second iommufd bind).
  var realized: Set<PCIAddress> = []
  /// Each IOMMU group's address space, once a device of it is in a container.
  var groupAddressSpace: [Int: String?] = [:]
  /// The groups already attached to an iommufd IOAS, with that IOAS's address space.
  var iommufdGroupAddressSpace: [Int: String?] = [:]
  /// intel-iommu's registered host devices (by guest address).
  var intelRegistered: Set<String> = []
  /// virtio-iommu's state.
  var virtio: VirtioState

  init(_ configuration: VIOMMUConfiguration) {
    virtio = VirtioState(configuration)
  }
}

enum VFIORealize {
  /// The findings of vfio-pci's realize for one device, up to (not including) the
  /// vIOMMU's `set_iommu_device`.
  static func outcomes(_ context: DeviceContext, state: inout RealizeState) -> [Outcome] {
    let realization = context.input.realization
    var outcomes: [Outcome] = []
    if context.hiod?.backend == .sysfs, realization.requested != .sysfs, let failure = realization.primaryFailure,
      failure.backend != .sysfs
    {
      // The kernel was wanted but could not be asked: the findings that follow rest on a
      // prediction (unless the kernel's refusal is QEMU's own, as not viable).
      let finding = failed(context, failure)
      outcomes.append(Outcome(finding))
      if finding.status == .fail { return outcomes }
    }
    if let failure = kernelFailure(context) {
      outcomes.append(Outcome(failed(context, failure)))
      if outcomes.last?.finding.status == .fail { return outcomes }
    } else if context.hiod == nil {
      outcomes.append(
        Outcome(
          Finding(
            check: "vfio.kernel", status: .undetermined,
            message: "the device was not realized: no backend was tried", wording: .hiodctl,
            qemuVersions: ReleaseSpan.all.description)))
      return outcomes
    }
    if let topology = topology(context, state: &state) {
      outcomes.append(topology)
      if topology.finding.status == .fail { return outcomes }
    }
    // Attaching allocates the domain (a nesting parent for intel-iommu's first stage)
    // before the memory listener maps guest RAM into it.
    if let nesting = context.configuration.model.definition.attachRefusal(context) {
      outcomes.append(nesting)
      if nesting.finding.status == .fail { return outcomes }
    }
    outcomes += listener(context)
    if outcomes.contains(where: { $0.finding.status == .fail }) { return outcomes }
    // Nothing was realized when the kernel could not be asked, or the group not read.
    let unrealized = outcomes.contains { outcome in
      outcome.finding.check == "vfio.kernel"
        || (outcome.finding.check == "vfio.iommu-group" && outcome.finding.status == .undetermined)
    }
    if !unrealized {
      outcomes.insert(Outcome(realized(context)), at: 0)
    }
    return outcomes
  }

  // MARK: What the kernel said

  /// The failure that decides the device's realize: the kernel's (or the prediction's)
  /// for the backend QEMU uses. A realize through the other backend stands for it where
  /// the kernel refuses both the same way (not viable, no MSI isolation).
  private static func kernelFailure(_ context: DeviceContext) -> RealizeFailure? {
    let realization = context.input.realization
    if let hiod = context.hiod {
      // Realized; but a prediction still carries what sysfs shows QEMU would fail on.
      if hiod.backend == .sysfs { return sysfsFailure(context) }
      return nil
    }
    return realization.primaryFailure
  }

  /// What sysfs alone shows QEMU's vfio-pci would fail on: no IOMMU group, not bound to a
  /// VFIO driver, a non-viable or no-IOMMU group, and no MSI isolation.
  private static func sysfsFailure(_ context: DeviceContext) -> RealizeFailure? {
    let device = context.input.device
    if let group = context.input.group {
      do {
        _ = try Preconditions.vfioGroup(
          of: device, group: group, host: context.host, groups: [group], backend: .sysfs,
          advice: context.viabilityAdvice(for:))
      } catch {
        return error
      }
    } else {
      if device.iommuGroup == nil {
        return Preconditions.noGroup(device, host: context.host, groups: [], backend: .sysfs)
      }
      if !device.isVFIOBound { return Preconditions.notBound(device, backend: .sysfs) }
    }
    // VFIO refuses to attach a group without MSI isolation unless told to allow unsafe
    // interrupts (vfio_iommu_type1.allow_unsafe_interrupts, iommufd.allow_unsafe_interrupts).
    if context.host.interruptRemapping == .disabled {
      let iommufd = context.qemuBackend == .iommufd
      let allowed = iommufd ? context.host.unsafeInterrupts.iommufd : context.host.unsafeInterrupts.vfioType1
      if allowed != true {
        let parameter = iommufd ? "iommufd.allow_unsafe_interrupts" : "vfio_iommu_type1.allow_unsafe_interrupts"
        var failure = Preconditions.noMSIIsolation(
          backend: .sysfs, step: "sysfs", errno: .notPermitted, parameter: parameter)
        failure.message = "predicted from sysfs: " + failure.message
        return failure
      }
    }
    return nil
  }

  /// The kernel realized the device: say how.
  private static func realized(_ context: DeviceContext) -> Finding {
    var evidence = [context.backendEvidence]
    if let hiod = context.hiod { evidence.append("realized as \(hiod.backend.qemuType)") }
    for attempt in context.input.realization.attempts {
      if let failure = attempt.failure {
        evidence.append("\(attempt.backend.rawValue) tried first and failed: \(failure.message)")
      }
    }
    evidence += context.hiod?.notes ?? []
    let predicted = context.isPredicted
    let how =
      predicted
      ? "predicted from sysfs (the kernel was not asked): vfio-pci can attach \(context.name)"
      : "the kernel attached \(context.name) through the \(context.hiod?.backend.rawValue ?? "?") backend"
    return Finding(
      check: "vfio.realize", status: .pass, message: how, wording: .hiodctl,
      qemuVersions: ReleaseSpan.all.description, evidence: evidence, predicted: predicted)
  }

  // MARK: The VM's other devices

  /// The checks that need the VM's other devices: the same host device twice, and two
  /// devices of one group in different address spaces.
  private static func topology(_ context: DeviceContext, state: inout RealizeState) -> Outcome? {
    let device = context.input.device
    // Each vfio-pci device behind a vIOMMU has an address space of its own (devices
    // behind one PCI bridge share the bridge's); without a vIOMMU all share the system
    // memory.
    let addressSpace: String? =
      context.configuration.model == .none ? nil : context.placement.addressSpaceKey
    defer { state.realized.insert(device.address) }
    let versions = ReleaseSpan.all.description
    let group = device.iommuGroup

    switch context.qemuBackend {
    case .iommufd?:
      if state.realized.contains(device.address) {
        // vfio_df_open refuses a second open of a device's cdev: the bind fails.
        return Outcome(
          Finding(
            check: "vfio.device.twice", status: .fail,
            message: context.vfio(iommufdBind(context, errno: .invalidArgument)), qemuVersions: versions,
            evidence: ["\(context.name) is assigned to the VM twice"],
            remedy: Remedy(summary: "assign each host device once")))
      }
      if let group {
        if let existing = state.iommufdGroupAddressSpace[group], existing != addressSpace {
          let text =
            QEMURules.text(
              "iommufd.attach", in: context.qemu,
              [
                .placeholder(MessagePlaceholder.fileDescriptor), .string(context.name),
                .placeholder(MessagePlaceholder.fileDescriptor), .placeholder(MessagePlaceholder.objectID),
                .string(Errno.invalidArgument.description),
              ]) ?? ""
          return Outcome(
            Finding(
              check: "vfio.group.address-spaces", status: .fail, message: context.vfio(text),
              qemuVersions: QEMURules.releases("iommufd.attach", in: context.qemu),
              evidence: [
                """
                group \(group) is already attached to the IOAS of another address space: \
                the vIOMMU gives every device its own
                """
              ],
              remedy: Remedy(
                summary:
                  """
                  put the functions of group \(group) behind one PCI bridge in the guest (one address space), \
                  or assign only one of them
                  """
              )))
        }
        state.iommufdGroupAddressSpace[group] = addressSpace
      }
    case .legacy?, .sysfs?, nil:
      if let group, let existing = state.groupAddressSpace[group], existing != addressSpace {
        let text = QEMURules.text("vfio.group.multiple-address-spaces", in: context.qemu, [.of(group)]) ?? ""
        return Outcome(
          Finding(
            check: "vfio.group.address-spaces", status: .fail, message: context.vfio(text), qemuVersions: versions,
            evidence: [
              state.realized.contains(device.address)
                ? "\(context.name) is assigned twice: each copy gets its own address space behind the vIOMMU"
                : """
                another device of group \(group) is already in a container of another address space: \
                the vIOMMU gives every device its own
                """
            ],
            remedy: Remedy(
              summary: state.realized.contains(device.address)
                ? "assign each host device once"
                : """
                put the functions of group \(group) behind one PCI bridge in the guest (one address space), \
                or assign only one of them
                """
            )))
      }
      if state.realized.contains(device.address) {
        return Outcome(
          Finding(
            check: "vfio.device.twice", status: .fail,
            message: context.vfio(QEMURules.text("vfio.device.already-attached", in: context.qemu) ?? ""),
            qemuVersions: versions, evidence: ["\(context.name) is assigned to the VM twice"],
            remedy: Remedy(summary: "assign each host device once")))
      }
      if let group { state.groupAddressSpace[group] = addressSpace }
    }
    return nil
  }

  // MARK: The memory listener

  /// Registering the memory listener maps guest RAM into the container (or IOAS): every
  /// RAM section must lie in a usable IOVA range. It also registers the vIOMMU's MAP
  /// notifier where the device's address space is translated at realize (amd-iommu
  /// before 10.2; the emulated arm-smmuv3).
  private static func listener(_ context: DeviceContext) -> [Outcome] {
    var outcomes: [Outcome] = []
    if let refusal = context.configuration.model.definition.listenerRefusal(context) {
      outcomes.append(refusal)
      return outcomes
    }
    if let ram = ramMapping(context) { outcomes.append(ram) }
    return outcomes
  }

  /// The guest bus, slot and function QEMU's notifier messages print.
  static func guestAddress(_ context: DeviceContext) -> [FormatArgument] {
    // The address space's own address: the requester ID.
    let address = context.placement.requesterID
    return [.of(Int(address.bus)), .of(Int(address.slot)), .of(Int(address.function))]
  }

  /// Guest RAM (and the BIOS ROM) as the memory listener maps it on q35: RAM below 4 GiB
  /// up to 2 GiB when the VM has 2.75 GiB or more, else all of it; the BIOS at the top of
  /// the 32-bit space; the rest of the RAM from 4 GiB.
  static func guestMemorySections(memoryMiB: UInt64) -> [(region: String, start: UInt64, size: UInt64)] {
    let ram = memoryMiB << 20
    let lowLimit: UInt64 = ram >= 0xb000_0000 ? 0x8000_0000 : 0xb000_0000
    let low = min(ram, lowLimit)
    var sections: [(String, UInt64, UInt64)] = [("pc.ram", 0, low)]
    sections.append(("pc.bios", 0xfffc_0000, 0x40000))
    if ram > low { sections.append(("pc.ram", 1 << 32, ram - low)) }
    return sections
  }

  /// The first RAM section no usable IOVA range holds: QEMU's DMA map of it fails.
  private static func ramMapping(_ context: DeviceContext) -> Outcome? {
    guard let hiod = context.hiod, let ranges = hiod.iovaRanges else { return nil }
    // No ranges: the kernel predates the IOVA-range capability; QEMU maps blindly.
    guard !ranges.value.isEmpty else { return nil }
    let memory = context.assignedMemoryMiB
    for section in guestMemorySections(memoryMiB: memory) {
      let last = section.start &+ section.size &- 1
      let fits = ranges.value.contains { $0.start <= section.start && last <= $0.last }
      if fits { continue }
      let errno = Errno.invalidArgument
      let text =
        QEMURules.text(
          "vfio.listener.dma-map", in: context.qemu,
          [
            .placeholder(MessagePlaceholder.pointer), .uint(section.start), .uint(section.size),
            .placeholder(MessagePlaceholder.pointer), .int(-Int64(errno.rawValue)), .string(errno.description),
          ]) ?? ""
      return Outcome(
        Finding(
          check: "vfio.listener.dma-map", status: .fail, message: context.listener(region: section.region, text),
          qemuVersions: QEMURules.releases("vfio.listener.dma-map", in: context.qemu),
          evidence: [
            "guest \(section.region) at \(section.start.hex64) (\(section.size.qemuHex) bytes; \(memory) MiB of RAM)",
            """
            usable IOVA ranges \(ranges.value.map(\.description).joined(separator: ", ")) \
            (\(DeviceContext.source(ranges.provenance)))
            """,
          ],
          predicted: ranges.provenance.isPrediction,
          remedy: Remedy(
            summary:
              """
              the host IOMMU cannot map the guest's memory at these addresses: give the VM less memory, \
              or fix the host's IOVA ranges (reserved regions)
              """
          )))
    }
    return nil
  }

  // MARK: Failures

  /// `error bind device fd=<fd> to iommufd=<fd>: <strerror>`.
  static func iommufdBind(_ context: DeviceContext, errno: Errno) -> String {
    QEMURules.text(
      "iommufd.bind", in: context.qemu,
      [
        .placeholder(MessagePlaceholder.fileDescriptor), .placeholder(MessagePlaceholder.fileDescriptor),
        .string(errno.description),
      ]) ?? ""
  }

  /// A realize that failed: QEMU's error when QEMU fails the same way, else an
  /// undetermined finding saying what the kernel could not be asked.
  private static func failed(_ context: DeviceContext, _ failure: RealizeFailure) -> Finding {
    var evidence = [
      failure.step == "sysfs"
        ? "sysfs shows: \(failure.message)" : "\(failure.backend.rawValue): \(failure.step) failed: \(failure.message)"
    ]
    if let errno = failure.errno { evidence.append("errno \(errno.symbol) (\(errno.description))") }
    if failure.backend != context.qemuBackend, failure.backend != .sysfs {
      evidence.append(
        "the \(failure.backend.rawValue) backend stands for QEMU's \(context.qemuBackend?.rawValue ?? "?") one")
    }
    let hostFix = failure.hints.isEmpty ? nil : failure.hints.joined(separator: "; ")
    let group = context.groupText
    let versions = ReleaseSpan.all.description
    let iommufd = context.qemuBackend == .iommufd
    let qemu = context.qemu
    let predicted = failure.backend == .sysfs

    switch failure.problem {
    case .groupNotViable:
      // `list`'s advice, worded afresh from the group (a snapshot may hold older words).
      let advice = context.input.group.map(context.viabilityAdvice(for:))
      let remedy = Remedy(
        summary: advice?.summary ?? "bind every device of group \(group) to vfio-pci (or leave it unbound)",
        host: advice.map { $0.hints.joined(separator: "; ").nilIfEmpty } ?? hostFix)
      if iommufd {
        return Finding(
          check: "vfio.group-viable", status: .fail,
          message: context.vfio(iommufdBind(context, errno: .notPermitted)), qemuVersions: versions,
          evidence: evidence + ["the kernel refuses to bind a device whose group is not viable (EPERM)"],
          predicted: predicted, remedy: remedy)
      }
      return Finding(
        check: "vfio.group-viable", status: .fail,
        message: context.vfio(QEMURules.text("vfio.group.not-viable", in: qemu, [.string(group)]) ?? ""),
        qemuHint: QEMURules.text("vfio.group.not-viable.hint", in: qemu), qemuVersions: versions,
        evidence: evidence, predicted: predicted, remedy: remedy)

    case .groupsUnreadable:
      // Not knowing the group is not having none: QEMU may well find it.
      return Finding(
        check: "vfio.iommu-group", status: .undetermined,
        message: "\(failure.message), not missing: QEMU may find it", wording: .hiodctl,
        qemuVersions: versions, evidence: evidence, predicted: predicted,
        remedy: Remedy(summary: "let hiodctl read /sys/kernel/iommu_groups", host: hostFix))

    case .noIOMMUGroup:
      return Finding(
        check: "vfio.iommu-group", status: .fail,
        message: iommufd
          ? context.vfio(cdevMissing(context)) : context.vfio(QEMURules.text("vfio.no-iommu-group", in: qemu) ?? ""),
        qemuVersions: versions, evidence: evidence, predicted: predicted,
        remedy: Remedy(summary: "put the device behind an enabled IOMMU", host: hostFix))

    case .noIOMMUMode:
      return Finding(
        check: "vfio.noiommu", status: .fail,
        message: iommufd
          ? context.vfio(cdevMissing(context))
          : context.vfio(
            QEMURules.text(
              "vfio.group.open", in: qemu, [.string(group), .string(Errno.noSuchFileOrDirectory.description)])
              ?? ""),
        qemuVersions: versions,
        evidence: evidence + ["a no-IOMMU group is /dev/vfio/noiommu-\(group), which QEMU does not open"],
        predicted: predicted,
        remedy: Remedy(summary: "enable the IOMMU instead of VFIO's no-IOMMU mode", host: hostFix))

    case .notBoundToVFIO:
      return notBound(context, evidence: evidence, hostFix: hostFix, predicted: predicted)

    case .noMSIIsolation:
      let remedy = Remedy(summary: "enable interrupt remapping so VFIO can isolate MSIs", host: hostFix)
      if iommufd {
        return Finding(
          check: "vfio.msi-isolation", status: .fail,
          message: context.vfio(iommufdBind(context, errno: .notPermitted)), qemuVersions: versions,
          evidence: evidence + ["without MSI isolation the kernel refuses the bind (EPERM)"], predicted: predicted,
          remedy: remedy)
      }
      return Finding(
        check: "vfio.msi-isolation", status: .fail,
        message: context.container(
          QEMURules.text("vfio.container.set-iommu", in: qemu, [.string(Errno.notPermitted.description)]) ?? ""),
        qemuVersions: versions, evidence: evidence, predicted: predicted, remedy: remedy)

    case .busy, .permissionDenied, .backendUnavailable, .notADevice, .kernelRefused, .busResetRefused:
      let why: String =
        switch failure.problem {
        case .busy: "the device is in use by another process (a running VM?)"
        case .busResetRefused: "binding it to iommufd would bus-reset it (--force binds anyway)"
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

  /// `vfio /sys/bus/pci/devices/BDF/vfio-dev: couldn't open directory …`: no VFIO driver
  /// made a cdev for the device.
  private static func cdevMissing(_ context: DeviceContext) -> String {
    QEMURules.text("iommufd.cdev.missing", in: context.qemu, [.string(context.name), .string(context.name)]) ?? ""
  }

  /// Not bound to a VFIO driver: which of QEMU's errors depends on the backend, on
  /// whether the group's `/dev/vfio/N` exists (another member is VFIO-bound), and on
  /// this device's driver.
  private static func notBound(_ context: DeviceContext, evidence: [String], hostFix: String?, predicted: Bool)
    -> Finding
  {
    let device = context.input.device
    let group = context.groupText
    let qemu = context.qemu
    let remedy = Remedy(
      summary: "bind \(context.name) to vfio-pci", host: hostFix ?? "driverctl set-override \(context.name) vfio-pci")
    let versions = ReleaseSpan.all.description
    if context.qemuBackend == .iommufd {
      return Finding(
        check: "vfio.driver", status: .fail, message: context.vfio(cdevMissing(context)), qemuVersions: versions,
        evidence: evidence + ["\(context.name) has no vfio-dev directory: no VFIO driver is bound"],
        predicted: predicted, remedy: remedy)
    }
    if let node = context.input.group?.vfioNode, node.present {
      if device.driverRole.blocksViability {
        // The device's own host driver owns the group's DMA.
        return Finding(
          check: "vfio.group-viable", status: .fail,
          message: context.vfio(QEMURules.text("vfio.group.not-viable", in: qemu, [.string(group)]) ?? ""),
          qemuHint: QEMURules.text("vfio.group.not-viable.hint", in: qemu), qemuVersions: versions,
          evidence: evidence, predicted: predicted, remedy: remedy)
      }
      return Finding(
        check: "vfio.driver", status: .fail,
        message: context.vfio(
          QEMURules.text(
            "vfio.device.get-fd", in: qemu, [.string(group), .string(Errno.operationNotSupportedByDevice.description)])
            ?? ""
        ),
        qemuHint: QEMURules.text("vfio.device.get-fd.hint", in: qemu, [.string(group)]), qemuVersions: versions,
        evidence: evidence, predicted: predicted, remedy: remedy)
    }
    let known = context.input.group != nil
    return Finding(
      check: "vfio.driver", status: .fail,
      message: context.vfio(
        QEMURules.text("vfio.group.open", in: qemu, [.string(group), .string(Errno.noSuchFileOrDirectory.description)])
          ?? ""),
      qemuVersions: QEMURules.releases("vfio.group.open", in: qemu),
      evidence: evidence
        + (known ? ["/dev/vfio/\(group) does not exist: no member of the group is VFIO-bound"] : []),
      predicted: predicted, remedy: remedy,
      caveat: known
        ? nil
        : """
        the group's members were not given: if another member is VFIO-bound, /dev/vfio/\(group) exists \
        and QEMU says \"group \(group) is not viable\" (this device on a host driver) \
        or \"error getting device from group \(group)\" instead
        """
    )
  }
}

extension String {
  /// nil for the empty string (joined caveat lists).
  var nilIfEmpty: String? { isEmpty ? nil : self }
}
