// hiodctl — what a vIOMMU check reports: findings with QEMU's own words, the fix, and the
// verdict per device.
// SPDX-License-Identifier: GPL-2.0-or-later

/// The outcome of one check.
package enum FindingStatus: String, Sendable, Hashable, CaseIterable {
  /// QEMU accepts the device on this point.
  case pass
  /// QEMU refuses the device (or the vIOMMU) with the finding's message.
  case fail
  /// The inputs cannot decide (no kernel answer, unknown guest topology…).
  case undetermined
}

/// What a failing finding does to the VM.
package enum FailureEffect: String, Sendable, Hashable, CaseIterable {
  /// QEMU refuses to start (it prints the message and exits).
  case refusesToStart = "refuses"
  /// QEMU starts, but the device's DMA fails once the guest uses it.
  case dmaFails = "dma-fails"
}

/// The three answers QEMU can give about a VM, plus hiodctl's "cannot tell".
package enum QEMUVerdict: String, Sendable, Hashable, CaseIterable {
  /// QEMU refuses to start: it prints an error and exits.
  case refuses
  /// QEMU starts and the devices work.
  case works
  /// QEMU starts, but a device's DMA fails at run time.
  case dmaFails = "dma-fails"
  /// The inputs cannot decide.
  case undetermined

  /// For people: "QEMU refuses to start".
  package var sentence: String {
    switch self {
    case .refuses: "QEMU refuses to start"
    case .works: "QEMU starts and the device works"
    case .dmaFails: "QEMU starts but the device's DMA fails"
    case .undetermined: "undetermined"
    }
  }
}

/// Whose words a finding's `message` is.
package enum MessageWording: String, Sendable, Hashable, CaseIterable {
  /// QEMU's format string as QEMU/QEMURules.swift records it from QEMU's source and
  /// released binaries, filled in as QEMU fills it.
  case qemu
  /// hiodctl's description: QEMU's exact text is not known to hiodctl (or QEMU fails in
  /// the kernel, not in its own check).
  case hiodctl
}

/// How to fix a failing finding, in forms people paste.
package struct Remedy: Hashable, Sendable {
  /// One sentence: "lower aw-bits to 39, the largest value the host accepts".
  package var summary: String
  /// The QEMU option(s) of a configuration that would work, e.g.
  /// `-device intel-iommu,caching-mode=on,aw-bits=39`, or the vfio-pci options of a
  /// host-side fix (the iommufd backend).
  package var qemu: String?
  /// The libvirt XML of the same fix; nil when libvirt cannot express it (or hiodctl does
  /// not know how).
  package var libvirt: String?
  /// What to change on the host (bind to vfio-pci, enable interrupt remapping…).
  package var host: String?

  /// A remedy; only the summary is required.
  package init(summary: String, qemu: String? = nil, libvirt: String? = nil, host: String? = nil) {
    self.summary = summary
    self.qemu = qemu
    self.libvirt = libvirt
    self.host = host
  }
}

/// One check QEMU makes (or one prerequisite of it), and how it came out.
///
/// `message` on a failure is what QEMU prints after its own location prefix
/// (`qemu-system-x86_64: -device vfio-pci,host=…:`), which depends on the invocation and is
/// left out. Errors raised while vfio-pci realizes carry QEMU's `vfio <BDF>: ` prefix, and
/// those from the vIOMMU's `set_iommu_device` also `Failed to set vIOMMU: ` (QEMU 10.0 on;
/// `Failed to set iommu_device: ` in 9.1–9.2). QEMU appends `: <strerror>` to errors raised
/// with an errno; hiodctl does not reproduce that suffix (which of QEMU's calls add it has
/// not been worked out from QEMU's source) and lists the errno in `evidence` instead.
/// QEMU's hint line, if any, is `qemuHint`.
package struct Finding: Hashable, Sendable {
  /// Stable id: "intel.aw-bits", "intel.caching-mode", "intel.x-flts.backend",
  /// "vfio.group-viable".
  package var check: String {
    get { fields.value.check }
    _modify { yield &fields.value.check }
  }
  /// How the check came out.
  package var status: FindingStatus {
    get { fields.value.status }
    _modify { yield &fields.value.status }
  }
  /// On fail: QEMU's message (see the type's documentation; `wording` says whose words
  /// they are). On pass or undetermined: a short statement of what was checked.
  package var message: String {
    get { fields.value.message }
    _modify { yield &fields.value.message }
  }
  /// QEMU's hint line printed under the message (`Please ensure all devices…`).
  package var qemuHint: String? {
    get { fields.value.qemuHint }
    _modify { yield &fields.value.qemuHint }
  }
  /// Whether `message` is QEMU's text or hiodctl's.
  package var wording: MessageWording {
    get { fields.value.wording }
    _modify { yield &fields.value.wording }
  }
  /// The QEMU releases the rule applies to: "9.1 and later", "10.0–10.2".
  package var qemuVersions: String {
    get { fields.value.qemuVersions }
    _modify { yield &fields.value.qemuVersions }
  }
  /// The facts used, each with its source: "host aw_bits 39 (legacy: VFIO_IOMMU_GET_INFO:
  /// VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)".
  package var evidence: [String] {
    get { fields.value.evidence }
    _modify { yield &fields.value.evidence }
  }
  /// The host facts came from the sysfs predictor, not from the kernel.
  package var predicted: Bool {
    get { fields.value.predicted }
    _modify { yield &fields.value.predicted }
  }
  /// How to fix a failure (or resolve an undetermined finding); nil when nothing is to do.
  package var remedy: Remedy? {
    get { fields.value.remedy }
    _modify { yield &fields.value.remedy }
  }
  /// What the host cannot know or what qualifies the verdict (guest topology…).
  package var caveat: String? {
    get { fields.value.caveat }
    _modify { yield &fields.value.caveat }
  }
  /// The check at which QEMU itself stops first: it reports only the first error, so it
  /// would never reach this one. nil when QEMU gets here.
  package var qemuStopsEarlierAt: String? {
    get { fields.value.qemuStopsEarlierAt }
    _modify { yield &fields.value.qemuStopsEarlierAt }
  }
  /// The option QEMU names before the message (`-device vfio-pci,host=0000:3b:00.0`);
  /// nil when QEMU prints no location (errors once the machine is done).
  package var location: String? {
    get { fields.value.location }
    _modify { yield &fields.value.location }
  }
  /// On fail: whether QEMU refuses to start or starts with the device's DMA failing.
  package var effect: FailureEffect {
    get { fields.value.effect }
    _modify { yield &fields.value.effect }
  }

  /// The stored fields, behind one copy-on-write reference (Support/CopyOnWrite.swift);
  /// the accessors above yield them in place, so `finding.evidence.append` copies
  /// neither the finding's box (when unique) nor the array.
  private struct Fields: Hashable, Sendable {
    var check: String
    var status: FindingStatus
    var message: String
    var qemuHint: String?
    var wording: MessageWording
    var qemuVersions: String
    var evidence: [String]
    var predicted: Bool
    var remedy: Remedy?
    var caveat: String?
    var qemuStopsEarlierAt: String?
    var location: String?
    var effect: FailureEffect
  }

  private var fields: CopyOnWrite<Fields>

  /// The whole line QEMU prints: `qemu-system-x86_64: <location>: <message>`.
  package var qemuLine: String {
    "qemu-system-x86_64: " + (location.map { "\($0): " } ?? "") + message
  }

  /// A finding; everything but the id, status, message and releases is optional.
  package init(
    check: String, status: FindingStatus, message: String, qemuHint: String? = nil,
    wording: MessageWording = .qemu, qemuVersions: String, evidence: [String] = [],
    predicted: Bool = false, remedy: Remedy? = nil, caveat: String? = nil,
    qemuStopsEarlierAt: String? = nil, location: String? = nil, effect: FailureEffect = .refusesToStart
  ) {
    fields = CopyOnWrite(
      Fields(
        check: check,
        status: status,
        message: message,
        qemuHint: qemuHint,
        wording: wording,
        qemuVersions: qemuVersions,
        evidence: evidence,
        predicted: predicted,
        remedy: remedy,
        caveat: caveat,
        qemuStopsEarlierAt: qemuStopsEarlierAt,
        location: location,
        effect: effect
      ))
  }
}

/// A PCI address inside the guest (where the vfio-pci device is plugged in the VM).
package struct GuestPCIAddress: Hashable, Sendable, CustomStringConvertible {
  /// The guest bus number as QEMU sees it when the device is realized.
  package var bus: UInt8
  /// The slot (device), 0–31.
  package var slot: UInt8
  /// The function, 0–7.
  package var function: UInt8

  /// An address; slot and function are masked to their 5 and 3 bits.
  package init(bus: UInt8, slot: UInt8, function: UInt8) {
    self.bus = bus
    self.slot = slot & 0x1f
    self.function = function & 0x7
  }

  /// QEMU's devfn: slot << 3 | function.
  package var devfn: UInt8 { slot << 3 | function }

  /// The form QEMU's vIOMMU messages print (`%02x.%02x.%x`): `01.00.0`.
  package var description: String { "\(bus.hex(width: 2)).\(slot.hex(width: 2)).\(function)" }
}

/// Where a device sits in the guest, when the caller knows it. The host alone cannot
/// know; without it hiodctl assumes each device has a slot of its own on a PCIe port.
package struct GuestPlacement: Hashable, Sendable {
  /// The device's own guest address.
  package var address: GuestPCIAddress
  /// The requester ID the device's DMA carries when it differs from `address`: the device
  /// sits behind a PCIe-to-PCI (or PCI) bridge that aliases it. nil: not aliased.
  package var alias: GuestPCIAddress?
  /// Which bridge aliases it (its id), so two bridges whose aliases print alike before the
  /// firmware numbers the buses stay apart.
  package var aliasBridge: String?
  /// The id of the bus it sits on (nil: the root bus): bus numbers are all 0 while QEMU
  /// realizes the devices, so the id tells buses apart.
  package var bus: String?

  /// A placement; `alias` only for a device behind a bridge that aliases it.
  package init(
    address: GuestPCIAddress, alias: GuestPCIAddress? = nil, aliasBridge: String? = nil, bus: String? = nil
  ) {
    self.address = address
    self.alias = alias
    self.aliasBridge = aliasBridge
    self.bus = bus
  }

  /// The device's own bus and devfn (what intel-iommu and virtio-iommu register host
  /// devices by).
  var ownKey: String { "\(bus ?? "root") \(address)" }

  /// The address the vIOMMU keys its per-device state on for DMA (QEMU's
  /// `aliased_bus`/`aliased_devfn`), and prints in its notifier messages.
  var requesterID: GuestPCIAddress { alias ?? address }

  /// The identity of the device's address space behind a vIOMMU.
  var addressSpaceKey: String {
    alias.map { "\(aliasBridge ?? "bridge") \($0)" } ?? ownKey
  }
}

/// One device to check: the host device and what realizing it showed.
package struct DeviceCheckInput: Hashable, Sendable {
  /// The host device.
  package var device: PCIDevice
  /// What realizing its HostIOMMUDevice showed (kernel answer, prediction or failure).
  package var realization: DeviceRealization
  /// The device's IOMMU group, when known: lets a not-bound device get QEMU's exact error
  /// (whether `/dev/vfio/N` exists decides which one).
  package var group: IOMMUGroup?
  /// The PCI devices of that group, when known: which members are bridges, for the
  /// advice on a group that is not viable (`ViabilityAdvice`).
  package var groupDevices: [PCIDevice]
  /// Where the device will sit in the guest, when known.
  package var guestPlacement: GuestPlacement?
  /// The device is hot-plugged after the VM started (virtio-iommu then has a frozen
  /// granule; intel-iommu ≤ 10.1 words its caching-mode refusal differently).
  package var hotplug: Bool

  /// An input; the group (and its devices), guest placement and hot-plug flag are
  /// optional refinements.
  package init(
    device: PCIDevice, realization: DeviceRealization, group: IOMMUGroup? = nil, groupDevices: [PCIDevice] = [],
    guestPlacement: GuestPlacement? = nil, hotplug: Bool = false
  ) {
    self.device = device
    self.realization = realization
    self.group = group
    self.groupDevices = groupDevices
    self.guestPlacement = guestPlacement
    self.hotplug = hotplug
  }
}

/// The verdict for one device.
package struct DeviceVerdict: Hashable, Sendable {
  /// The host device.
  package var device: PCIDevice
  /// fail if any finding (or configuration finding) fails; else undetermined if any is
  /// undetermined or the answer rests on a sysfs prediction where the kernel was wanted;
  /// else pass.
  package var status: FindingStatus
  /// In the order QEMU makes the checks.
  package var findings: [Finding]
  /// The error QEMU prints when it is about this device (or the configuration).
  package var qemuError: QEMUError?

  /// A verdict.
  package init(device: PCIDevice, status: FindingStatus, findings: [Finding], qemuError: QEMUError? = nil) {
    self.device = device
    self.status = status
    self.findings = findings
    self.qemuError = qemuError
  }

  /// QEMU's answer for this device: refuses when a finding stops QEMU, dma-fails when
  /// one breaks its DMA at run time, undetermined, else works.
  package var verdict: QEMUVerdict { VIOMMUChecker.verdict(of: findings, status: status) }
}

/// The first error QEMU prints for the VM, as it prints it.
package struct QEMUError: Hashable, Sendable {
  /// The finding that produces it.
  package var check: String
  /// The device it is about (nil: the configuration or the machine).
  package var device: PCIAddress?
  /// After the location (what `Finding.message` holds).
  package var message: String
  /// The option QEMU names first; nil when none.
  package var location: String?
  /// QEMU's hint line under it.
  package var hint: String?
  /// `qemu-system-x86_64: <location>: <message>`.
  package var line: String
  /// Whose words: QEMU's, or hiodctl's where QEMU's exact text is not known.
  package var wording: MessageWording
}

/// Everything `check` found for one configuration.
package struct CheckReport: Hashable, Sendable {
  /// The configuration checked (with the guest architecture the checker settled on).
  package var configuration: VIOMMUConfiguration
  /// Problems of the configuration itself (vtd_decide_config-style errors, unknown
  /// properties, machine types): a failure here fails every device.
  package var configurationFindings: [Finding]
  /// One verdict per input device, in input order.
  package var devices: [DeviceVerdict]
  /// The VM the answer is for (for flags: the canonical command line).
  package var invocation: VMInvocation?
  /// Findings about the VM as a whole that QEMU reports once the machine is done or at
  /// run time, and command-line problems that are about no device (iommufd objects).
  package var vmFindings: [Finding]
  /// The first error QEMU prints; nil when it starts.
  package var qemuError: QEMUError?

  /// A report.
  package init(
    configuration: VIOMMUConfiguration, configurationFindings: [Finding], devices: [DeviceVerdict],
    invocation: VMInvocation? = nil, vmFindings: [Finding] = [], qemuError: QEMUError? = nil
  ) {
    self.configuration = configuration
    self.configurationFindings = configurationFindings
    self.devices = devices
    self.invocation = invocation
    self.vmFindings = vmFindings
    self.qemuError = qemuError
  }

  /// QEMU's answer for the VM: refuses if it prints an error and exits; dma-fails if a
  /// device's DMA fails at run time; undetermined if anything cannot be told; else works.
  package var verdict: QEMUVerdict {
    if qemuError != nil { return .refuses }
    if invocation?.perDevice == true {
      let verdicts = devices.map(\.verdict)
      for worst in [QEMUVerdict.refuses, .dmaFails, .undetermined] where verdicts.contains(worst) { return worst }
      return .works
    }
    let all = configurationFindings + vmFindings + devices.flatMap(\.findings)
    if all.contains(where: { $0.status == .fail && $0.effect == .refusesToStart }) { return .refuses }
    if all.contains(where: { $0.status == .fail && $0.effect == .dmaFails }) { return .dmaFails }
    if status == .undetermined { return .undetermined }
    return .works
  }

  /// The overall verdict: fail if the configuration or any device fails; undetermined if
  /// anything is undetermined; else pass.
  package var status: FindingStatus {
    let statuses = configurationFindings.map(\.status) + vmFindings.map(\.status) + devices.map(\.status)
    if statuses.contains(.fail) { return .fail }
    if statuses.contains(.undetermined) { return .undetermined }
    return .pass
  }
}
