// hiodctl — can this host assign devices at all? One verdict per prerequisite, with the
// evidence and the fix: `hiodctl host`, the host diagnoses of `list`, and the exports.
// SPDX-License-Identifier: GPL-2.0-or-later

/// PASS, WARN or FAIL.
package enum ReadinessStatus: String, Sendable, Hashable, Comparable, CaseIterable {
  case pass, warn, fail

  /// How the text output writes it.
  package var word: String { rawValue.uppercased() }

  package static func < (lhs: ReadinessStatus, rhs: ReadinessStatus) -> Bool {
    let order: [ReadinessStatus] = [.pass, .warn, .fail]
    return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
  }
}

/// One prerequisite of device assignment and what the host shows about it.
package struct ReadinessCheck: Sendable, Hashable {
  /// A stable identifier (`interrupt-remapping`).
  package var id: String
  /// A short name for people (`interrupt remapping`).
  package var title: String
  package var status: ReadinessStatus
  /// false: the host could not be asked (a file unreadable without privileges, a
  /// snapshot that does not record it); the status is then WARN.
  package var determined: Bool
  /// One sentence that stands on its own (`list` prints it without the title).
  package var message: String
  /// What was read, and where.
  package var evidence: [String]
  /// What to do, unless it passes.
  package var fix: String?
  /// The `list` diagnosis code for a WARN or FAIL that is one (`iommu-disabled`).
  package var code: String?
  /// The diagnosis severity, when it is not the status's (`iommufd-unavailable` is info).
  package var severity: Diagnosis.Severity?

  package init(
    id: String, title: String, status: ReadinessStatus, determined: Bool = true, message: String,
    evidence: [String] = [], fix: String? = nil, code: String? = nil, severity: Diagnosis.Severity? = nil
  ) {
    self.id = id
    self.title = title
    self.status = status
    self.determined = determined
    self.message = message
    self.evidence = evidence
    self.fix = fix
    self.code = code
    self.severity = severity
  }
}

/// The readiness of one host.
package struct HostReadiness: Sendable {
  package var checks: [ReadinessCheck]

  /// The worst status.
  package var status: ReadinessStatus { checks.map(\.status).max() ?? .pass }
  /// No prerequisite fails.
  package var ready: Bool { status != .fail }
  /// Every check could be told.
  package var determined: Bool { checks.allSatisfy(\.determined) }

  /// 0 ready, 1 some prerequisite fails, 2 nothing fails but something is unknown.
  package var exitStatus: ExitStatus {
    if status == .fail { return .incompatible }
    return determined ? .success : .undetermined
  }

  /// The WARN and FAIL lines `list` prints under its host line (and the JSON
  /// `diagnoses`): those with a diagnosis code, in check order.
  package var diagnoses: [Diagnosis] {
    // Without an IOMMU everything else follows from it: that one line says it all.
    let rootCauses = ["iommu-disabled", "dma-remapping-disabled"]
    let shown =
      checks.contains { $0.status == .fail && rootCauses.contains($0.code ?? "") }
      ? checks.filter { $0.status == .fail && rootCauses.contains($0.code ?? "") } : checks
    return shown.compactMap { check in
      guard check.status != .pass, let code = check.code else { return nil }
      let severity = check.severity ?? (check.status == .fail ? .error : .warning)
      return Diagnosis(severity: severity, code: code, message: check.message, hint: check.fix)
    }
  }

  /// `pass: 7, warn: 2, fail: 1`.
  package var counts: [ReadinessStatus: Int] {
    Dictionary(grouping: checks, by: \.status).mapValues(\.count)
  }
}

extension HostReadiness {
  /// Every check over `host`, from what its scan (or snapshot) recorded.
  package static func evaluate(_ host: HostInventory) -> HostReadiness {
    evaluate(facts: host.facts, devices: host.devices, groups: host.groups)
  }

  /// The same from the parts of an inventory (during the scan that builds it).
  static func evaluate(facts: HostFacts, devices: [PCIDevice], groups: [IOMMUGroup]) -> HostReadiness {
    var checks: [ReadinessCheck] = []
    checks.append(iommu(facts, groups: groups))
    checks.append(dmaRemapping(facts, groups: groups))
    checks.append(interruptRemapping(facts))
    checks.append(unsafeInterrupts(facts))
    checks.append(noIOMMUMode(facts, groups: groups))
    checks += modules(facts)
    checks += deviceNodes(facts)
    checks.append(commandLine(facts))
    checks.append(acs(facts, devices: devices))
    return HostReadiness(checks: checks)
  }

  static let notRecorded = "not recorded in this snapshot (taken by an older hiodctl)"

  /// The IOMMU line: is there one, and which kind.
  static func iommu(_ facts: HostFacts, groups: [IOMMUGroup]) -> ReadinessCheck {
    let units = facts.iommuUnits
    let fakeGroups = groups.filter(\.isNoIOMMU).count
    let unitEvidence =
      units.isEmpty
      ? "/sys/class/iommu: no IOMMU units"
      : "/sys/class/iommu: " + units.map { "\($0.name) (\($0.vendorDescription))" }.joined(separator: ", ")
    if let error = facts.iommuGroupsError, units.isEmpty {
      return ReadinessCheck(
        id: "iommu", title: "IOMMU", status: .warn, determined: false,
        message: "cannot tell whether there is an IOMMU: /sys/kernel/iommu_groups: \(error)",
        evidence: [unitEvidence, "/sys/kernel/iommu_groups: \(error)"],
        fix: "run hiodctl with read access to /sys/kernel/iommu_groups")
    }
    if units.isEmpty && facts.iommuGroupCount == 0 {
      return ReadinessCheck(
        id: "iommu", title: "IOMMU", status: .fail, message: "no IOMMU groups: the IOMMU is disabled",
        evidence: [unitEvidence, "/sys/kernel/iommu_groups: no groups"] + hypervisorEvidence(facts),
        fix: enableIOMMUFix(facts), code: "iommu-disabled")
    }
    if units.isEmpty && fakeGroups > 0 && fakeGroups == facts.iommuGroupCount {
      return ReadinessCheck(
        id: "iommu", title: "IOMMU", status: .fail,
        message: "there is no IOMMU: the only IOMMU groups are VFIO's unsafe no-IOMMU groups",
        evidence: [unitEvidence, "/sys/kernel/iommu_groups: \(fakeGroups) no-IOMMU group\(fakeGroups == 1 ? "" : "s")"]
          + hypervisorEvidence(facts),
        fix: enableIOMMUFix(facts))
    }
    let kinds = Array(Set(units.map(\.vendorDescription))).sorted()
    let kind = kinds.isEmpty ? "an IOMMU /sys/class/iommu does not name" : kinds.joined(separator: " and ")
    let names = units.isEmpty ? "" : " (\(units.map(\.name).joined(separator: ", ")))"
    return ReadinessCheck(
      id: "iommu", title: "IOMMU", status: .pass, message: "the IOMMU is enabled: \(kind)\(names)",
      evidence: [unitEvidence])
  }

  /// What `hiodctl host` says to do for a device without an IOMMU group: the fix of the
  /// first IOMMU or DMA-remapping line that fails or cannot be told (aware of virtual
  /// machines and of the CPU vendor); nil when both pass.
  static func iommuFix(_ facts: HostFacts, groups: [IOMMUGroup]) -> String? {
    [iommu(facts, groups: groups), dmaRemapping(facts, groups: groups)]
      .first { $0.status == .fail || !$0.determined }?.fix
  }

  static func hypervisorEvidence(_ facts: HostFacts) -> [String] {
    facts.hypervisor.map { ["this is a virtual machine: \($0)"] } ?? []
  }

  /// How to turn the IOMMU on: in the firmware and on the kernel command line, or, in a
  /// virtual machine, in the hypervisor.
  static func enableIOMMUFix(_ facts: HostFacts) -> String {
    if let hypervisor = facts.hypervisor {
      return "this is a virtual machine (\(hypervisor)): its hypervisor must give it a vIOMMU, e.g. QEMU "
        + "-machine q35,kernel-irqchip=split -device intel-iommu,intremap=on,caching-mode=on "
        + "(libvirt: <iommu model='intel'><driver intremap='on' caching_mode='on'/></iommu>), "
        + "and the guest must boot with intel_iommu=on"
    }
    switch facts.cpuVendor {
    case .intel:
      return "enable VT-d in the firmware setup and boot with intel_iommu=on"
    case .amd:
      return "enable the IOMMU (AMD-Vi) in the firmware setup and do not boot with amd_iommu=off"
    case .other, nil:
      return "enable the IOMMU in the firmware and boot with intel_iommu=on (Intel) or without amd_iommu=off (AMD)"
    }
  }

  static func dmaRemapping(_ facts: HostFacts, groups: [IOMMUGroup]) -> ReadinessCheck {
    if let error = facts.iommuGroupsError {
      return ReadinessCheck(
        id: "dma-remapping", title: "DMA remapping", status: .warn, determined: false,
        message: "cannot read /sys/kernel/iommu_groups: \(error)",
        evidence: ["/sys/kernel/iommu_groups: \(error)"],
        fix: "run hiodctl as a user who may read /sys/kernel/iommu_groups (normally everyone may)",
        code: "iommu-groups-unreadable", severity: .error)
    }
    let real = groups.filter { !$0.isNoIOMMU }.count
    if facts.iommuGroupCount > 0 && real == 0 && !groups.isEmpty {
      return ReadinessCheck(
        id: "dma-remapping", title: "DMA remapping", status: .fail,
        message: "DMA remapping is off: VFIO's no-IOMMU groups do no DMA isolation",
        evidence: ["/sys/kernel/iommu_groups: \(groups.count) no-IOMMU group\(groups.count == 1 ? "" : "s")"],
        fix: enableIOMMUFix(facts))
    }
    if facts.iommuGroupCount > 0 {
      return ReadinessCheck(
        id: "dma-remapping", title: "DMA remapping", status: .pass,
        message: "DMA remapping is on: \(facts.iommuGroupCount) IOMMU group\(facts.iommuGroupCount == 1 ? "" : "s")",
        evidence: [
          """
          /sys/kernel/iommu_groups: \(facts.iommuGroupCount) groups\
          \(real < groups.count ? " (\(groups.count - real) made up by VFIO's no-IOMMU mode)" : "")
          """
        ])
    }
    if facts.iommuUnits.isEmpty {
      return ReadinessCheck(
        id: "dma-remapping", title: "DMA remapping", status: .fail,
        message: "DMA remapping is off: there is no IOMMU to do it",
        evidence: ["/sys/kernel/iommu_groups: no groups"], fix: enableIOMMUFix(facts))
    }
    let names = facts.iommuUnits.map(\.name).joined(separator: ", ")
    return ReadinessCheck(
      id: "dma-remapping", title: "DMA remapping", status: .fail,
      message: "IOMMU units are present (\(names)) but there are no IOMMU groups: DMA remapping is off",
      evidence: ["/sys/class/iommu: \(names)", "/sys/kernel/iommu_groups: no groups"],
      fix: "remove intel_iommu=off, amd_iommu=off or iommu=off from the kernel command line",
      code: "dma-remapping-disabled")
  }

  static func interruptRemapping(_ facts: HostFacts) -> ReadinessCheck {
    let bypassed = facts.unsafeInterrupts.vfioType1 == true || facts.unsafeInterrupts.iommufd == true
    let chips = "interrupt chips in /sys/kernel/irq/*/chip_name and /proc/interrupts"
    switch facts.interruptRemapping {
    case .enabled:
      return ReadinessCheck(
        id: "interrupt-remapping", title: "interrupt remapping", status: .pass,
        message: "interrupt remapping is on: VFIO can isolate MSIs",
        evidence: ["\(chips): IR-IO-APIC / IR-PCI-MSI"])
    case .disabled:
      let virtio = !facts.iommuUnits.isEmpty && facts.iommuUnits.allSatisfy { $0.vendor == .virtio }
      let message =
        virtio
        ? """
        interrupt remapping is off: virtio-iommu does not isolate MSIs, \
        and VFIO refuses devices without MSI isolation (EPERM)
        """
        : "interrupt remapping is off: VFIO refuses devices without MSI isolation (EPERM)"
      var fix =
        facts.hypervisor != nil && !virtio
        ? """
        the vIOMMU must remap interrupts: e.g. QEMU -machine q35,kernel-irqchip=split \
        -device intel-iommu,intremap=on,caching-mode=on; \
        allow_unsafe_interrupts=1 only bypasses the check and lets a guest forge interrupts
        """
        : virtio
          ? "use a vIOMMU that remaps interrupts (intel-iommu,intremap=on with -machine kernel-irqchip=split); "
            + "allow_unsafe_interrupts=1 only bypasses the check and lets a guest forge interrupts"
          : "enable interrupt remapping (VT-d/AMD-Vi with x2APIC in the firmware); "
            + "allow_unsafe_interrupts=1 only bypasses the check and lets a guest forge interrupts"
      if bypassed { fix = "allow_unsafe_interrupts bypasses the check; " + fix }
      return ReadinessCheck(
        id: "interrupt-remapping", title: "interrupt remapping", status: bypassed ? .warn : .fail,
        message: bypassed
          ? message.replacing("VFIO refuses", with: "VFIO would refuse") + ", but allow_unsafe_interrupts lets it"
          : message,
        evidence: ["\(chips): IO-APIC / PCI-MSI without the IR- prefix"], fix: fix,
        code: "interrupt-remapping-disabled")
    case .unknown:
      return ReadinessCheck(
        id: "interrupt-remapping", title: "interrupt remapping", status: .warn, determined: false,
        message: "cannot tell whether interrupts are remapped: no IO-APIC or PCI-MSI chip is named",
        evidence: ["\(chips): no IO-APIC or PCI-MSI chip"],
        fix: "on a live host, /proc/interrupts tells; a captured tree needs it captured")
    }
  }

  static func unsafeInterrupts(_ facts: HostFacts) -> ReadinessCheck {
    let policy = facts.unsafeInterrupts
    let evidence = [
      "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts: \(describe(policy.vfioType1))",
      "/sys/module/iommufd/parameters/allow_unsafe_interrupts: \(describe(policy.iommufd))",
    ]
    guard policy.vfioType1 == true || policy.iommufd == true else {
      return ReadinessCheck(
        id: "unsafe-interrupts", title: "allow_unsafe_interrupts", status: .pass,
        message: "allow_unsafe_interrupts is off: VFIO insists on MSI isolation", evidence: evidence)
    }
    let which = [policy.vfioType1 == true ? "vfio_iommu_type1" : nil, policy.iommufd == true ? "iommufd" : nil]
      .compactMap { $0 }.joined(separator: " and ")
    return ReadinessCheck(
      id: "unsafe-interrupts", title: "allow_unsafe_interrupts", status: .warn,
      message: "\(which) allow_unsafe_interrupts=Y: devices are assigned without MSI isolation",
      evidence: evidence,
      fix: "a guest can then forge interrupts to the host; keep it off where interrupt remapping works",
      code: "unsafe-interrupts-allowed")
  }

  private static func describe(_ value: Bool?) -> String {
    value.map { $0 ? "Y" : "N" } ?? "not shown (the module is not loaded, or the tree lacks it)"
  }

  static func noIOMMUMode(_ facts: HostFacts, groups: [IOMMUGroup]) -> ReadinessCheck {
    let noIOMMUGroups = groups.filter(\.isNoIOMMU)
    let parameter = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode: \(describe(facts.noIOMMUMode))"
    guard noIOMMUGroups.isEmpty else {
      return ReadinessCheck(
        id: "noiommu", title: "no-IOMMU mode", status: .warn,
        message: "VFIO runs in unsafe no-IOMMU mode for \(noIOMMUGroups.count == 1 ? "group" : "groups") "
          + noIOMMUGroups.map { String($0.id) }.joined(separator: ", ")
          + ": no DMA isolation, and QEMU cannot use /dev/vfio/noiommu-N",
        evidence: [parameter] + noIOMMUGroups.map { "\($0.vfioNodePath)" },
        fix: "enable the IOMMU and reload vfio without enable_unsafe_noiommu_mode=1", code: "noiommu-mode")
    }
    if facts.noIOMMUMode == true {
      return ReadinessCheck(
        id: "noiommu", title: "no-IOMMU mode", status: .warn,
        message:
          "vfio enable_unsafe_noiommu_mode=Y: devices without an IOMMU group would be bound without DMA isolation",
        evidence: [parameter], fix: "reload vfio without enable_unsafe_noiommu_mode=1", code: "noiommu-mode")
    }
    return ReadinessCheck(
      id: "noiommu", title: "no-IOMMU mode", status: .pass, message: "VFIO's unsafe no-IOMMU mode is off",
      evidence: [parameter])
  }

  static func modules(_ facts: HostFacts) -> [ReadinessCheck] {
    VFIOModule.allCases.map { module in
      let id = "module-\(module.rawValue.replacing("_", with: "-"))"
      let title = "\(module.displayName) module"
      guard facts.environmentRecorded else {
        return ReadinessCheck(
          id: id, title: title, status: .warn, determined: false,
          message: "whether \(module.displayName) is loaded is \(notRecorded)")
      }
      guard let modules = facts.modules else {
        return ReadinessCheck(
          id: id, title: title, status: .warn, determined: false,
          message: "cannot tell whether \(module.displayName) is loaded: the tree has no /sys/module",
          evidence: ["/sys/module: missing"])
      }
      let evidence =
        module == .vfioPCI
        ? "/sys/module/vfio_pci, /sys/bus/pci/drivers/vfio-pci"
        : "/sys/module/\(module.rawValue)"
      if modules[module.rawValue] == true {
        return ReadinessCheck(
          id: id, title: title, status: .pass, message: "\(module.displayName) is loaded (or built in)",
          evidence: ["\(evidence): present"])
      }
      let role: String
      switch module {
      case .vfio: role = "VFIO itself"
      case .vfioPCI: role = "the driver assigned PCI devices are bound to"
      case .vfioIOMMUType1: role = "the legacy container backend (/dev/vfio/vfio)"
      case .iommufd: role = "the iommufd backend (/dev/iommu)"
      }
      return ReadinessCheck(
        id: id, title: title, status: .warn,
        message: "\(module.displayName) is not loaded: \(role) is missing",
        evidence: ["\(evidence): missing"],
        fix: "modprobe \(module.displayName) (and list it in /etc/modules-load.d/ to load it at boot)",
        code: "module-not-loaded")
    }
  }

  static func deviceNodes(_ facts: HostFacts) -> [ReadinessCheck] {
    let container = facts.vfioContainer
    let iommufd = facts.iommufd
    let neither = !container.present && !iommufd.present
    var checks: [ReadinessCheck] = []
    if container.present {
      checks.append(
        ReadinessCheck(
          id: "dev-vfio", title: container.path, status: .pass,
          message: "\(container.path) is present: the legacy VFIO container backend can be used",
          evidence: ["\(container.path): present"]))
    } else {
      checks.append(
        ReadinessCheck(
          id: "dev-vfio", title: container.path, status: neither ? .fail : .warn,
          message: neither
            ? "\(container.path) and \(iommufd.path) are missing: VFIO has no backend to assign devices with"
            : "\(container.path) is missing: VFIO is not loaded (or built without the container)",
          evidence: ["\(container.path): missing"], fix: "modprobe vfio-pci", code: "vfio-not-loaded"))
    }
    if iommufd.present {
      checks.append(
        ReadinessCheck(
          id: "dev-iommu", title: iommufd.path, status: .pass,
          message: "\(iommufd.path) is present: the iommufd backend can be used",
          evidence: ["\(iommufd.path): present"]))
    } else {
      checks.append(
        ReadinessCheck(
          id: "dev-iommu", title: iommufd.path, status: .warn,
          message: "\(iommufd.path) is missing: only the legacy VFIO container backend can be used",
          evidence: ["\(iommufd.path): missing"],
          fix: "modprobe iommufd (Linux 6.2 or later, built with CONFIG_IOMMUFD)", code: "iommufd-unavailable",
          severity: .info))
    }
    return checks
  }

  static func commandLine(_ facts: HostFacts) -> ReadinessCheck {
    let id = "cmdline"
    let title = "kernel command line"
    guard facts.environmentRecorded else {
      return ReadinessCheck(
        id: id, title: title, status: .warn, determined: false, message: "the kernel command line is \(notRecorded)")
    }
    guard facts.kernelCommandLine != nil else {
      return ReadinessCheck(
        id: id, title: title, status: .warn, determined: false, message: "cannot read the kernel command line",
        evidence: ["/proc/cmdline: unreadable or missing"])
    }
    let words = facts.kernelParameters
    func values(_ name: String) -> [String] {
      words.filter { $0.hasPrefix(name + "=") }.flatMap {
        $0.dropFirst(name.count + 1).split(separator: ",").map(String.init)
      }
    }
    let relevantPrefixes = [
      "intel_iommu=", "amd_iommu=", "iommu=", "iommu.", "intremap=", "pcie_acs_override", "vfio", "iommufd.",
      "amd_iommu_intr=", "nointremap",
    ]
    let relevant = words.filter { word in relevantPrefixes.contains { word.hasPrefix($0) } }
    let shown =
      relevant.isEmpty
      ? "/proc/cmdline: no IOMMU or VFIO parameters" : "/proc/cmdline: " + relevant.joined(separator: " ")
    let vendors = Set(facts.iommuUnits.map(\.vendor))
    let intelHost = facts.cpuVendor == .intel || vendors.contains(.intel)
    let amdHost = facts.cpuVendor == .amd || vendors.contains(.amd)
    var disabling: [String] = []
    if values("iommu").contains("off") { disabling.append("iommu=off") }
    if values("intel_iommu").contains("off") && !(amdHost && !intelHost) { disabling.append("intel_iommu=off") }
    if values("amd_iommu").contains("off") && !(intelHost && !amdHost) { disabling.append("amd_iommu=off") }
    if !disabling.isEmpty {
      return ReadinessCheck(
        id: id, title: title, status: .fail,
        message: "the kernel command line disables the IOMMU: \(disabling.joined(separator: " "))",
        evidence: [shown], fix: "remove \(disabling.joined(separator: " and ")) from the kernel command line",
        code: "cmdline-disables-iommu")
    }
    var warnings: [String] = []
    if values("intremap").contains("off") || words.contains("nointremap") {
      warnings.append("intremap=off turns interrupt remapping off, without which VFIO refuses devices (EPERM)")
    }
    if words.contains(where: { $0.hasPrefix("pcie_acs_override") }) {
      warnings.append(
        """
        pcie_acs_override splits IOMMU groups the hardware does not isolate: \
        devices in them can reach each other's DMA
        """
      )
    }
    if !warnings.isEmpty {
      return ReadinessCheck(
        id: id, title: title, status: .warn, message: "the kernel command line: " + warnings.joined(separator: "; "),
        evidence: [shown], fix: "remove intremap=off, nointremap and pcie_acs_override from the kernel command line",
        code: "cmdline-unsafe")
    }
    if facts.iommuGroupCount == 0 && facts.iommuUnits.isEmpty && facts.hypervisor == nil && facts.cpuVendor == .intel
      && !values("intel_iommu").contains("on")
    {
      return ReadinessCheck(
        id: id, title: title, status: .warn,
        message:
          """
          intel_iommu=on is not on the kernel command line \
          (kernels built without CONFIG_INTEL_IOMMU_DEFAULT_ON need it)
          """,
        evidence: [shown], fix: "boot with intel_iommu=on")
    }
    var notes: [String] = []
    if values("iommu").contains("pt") || words.contains("iommu.passthrough=1") {
      notes.append("host DMA is passed through (iommu=pt); VFIO still isolates assigned devices")
    }
    return ReadinessCheck(
      id: id, title: title, status: .pass,
      message: "the kernel command line turns off neither the IOMMU nor interrupt remapping",
      evidence: [shown] + notes)
  }

  static func acs(_ facts: HostFacts, devices: [PCIDevice]) -> ReadinessCheck {
    let id = "acs"
    let title = "ACS"
    guard devices.contains(where: \.isVFIOBound) else {
      return ReadinessCheck(
        id: id, title: title, status: .pass, message: "no device is bound to a VFIO driver: no upstream port to check")
    }
    guard facts.environmentRecorded else {
      return ReadinessCheck(id: id, title: title, status: .warn, determined: false, message: "ACS is \(notRecorded)")
    }
    let ports = facts.upstreamPorts
    func describe(_ port: PortACS) -> String {
      let below = port.devices.map(\.description).joined(separator: ", ")
      let kind = port.type.rawValue.replacing("-", with: " ")
      switch port.state {
      case .enabled: return "\(port.port) (\(kind)): ACS \(port.enabled.joined(separator: " ")), above \(below)"
      case .disabled:
        return "\(port.port) (\(kind)): ACS without \(port.missing.joined(separator: " ")), above \(below)"
      case .absent: return "\(port.port) (\(kind)): no ACS capability, above \(below)"
      case .notApplicable: return "\(port.port) (\(kind)): ACS does not apply, above \(below)"
      case .unknown:
        return
          """
          \(port.port): ACS not shown (the config space past 64 or 256 bytes needs root, \
          or was not captured), above \(below)
          """
      }
    }
    let evidence =
      ports.isEmpty
      ? ["no upstream port: the VFIO-bound devices are root-complex integrated"]
      : ports.map(describe)
    let bad = ports.filter { $0.state == .absent || $0.state == .disabled }
    if !bad.isEmpty {
      let names = bad.map { "\($0.port)" }.joined(separator: ", ")
      return ReadinessCheck(
        id: id, title: title, status: .warn,
        message:
          """
          \(names) \(bad.count == 1 ? "isolates" : "isolate") without ACS: \
          the devices below share an IOMMU group with their neighbours
          """,
        evidence: evidence,
        fix:
          """
          use a slot below a port with ACS (the IOMMU groups show what shares); \
          pcie_acs_override only pretends to isolate
          """,
        code: "acs-missing")
    }
    let unknown = ports.filter { $0.state == .unknown }
    if !unknown.isEmpty {
      return ReadinessCheck(
        id: id, title: title, status: .warn, determined: false,
        message: "ACS of \(unknown.map { "\($0.port)" }.joined(separator: ", ")) is not shown by sysfs",
        evidence: evidence, fix: "run hiodctl as root: the extended config space is only readable by root")
    }
    return ReadinessCheck(
      id: id, title: title, status: .pass,
      message: ports.contains { $0.state == .enabled }
        ? "every upstream port of the VFIO-bound devices isolates with ACS"
        : "no upstream port of the VFIO-bound devices needs ACS",
      evidence: evidence)
  }
}
