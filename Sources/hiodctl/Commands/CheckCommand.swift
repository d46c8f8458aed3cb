// hiodctl check — predict QEMU's verdict on each device behind a vIOMMU configuration.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum CheckCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    let (configuration, assumptions) = try configuration(from: invocation)
    let choice = invocation.value(.backend).flatMap(BackendChoice.init(rawValue:)) ?? .auto
    let all = invocation.has(.all)
    if all && !invocation.positionals.isEmpty {
      throw UsageError(message: "give BDFs or --all, not both", command: "check")
    }
    if !all && invocation.positionals.isEmpty {
      throw UsageError(
        message: "'check' needs the devices to check: BDFs, or --all",
        hints: ["'hiodctl list --vfio' shows the devices bound to VFIO"], command: "check")
    }

    let hosts = try context.hosts()
    var poolHosts: [PoolHost] = []
    var realizations: [[DeviceRealization]] = []
    for host in hosts {
      let devices: [PCIDevice]
      if all {
        devices = host.inventory.devices.filter(\.isVFIOBound)
        guard !devices.isEmpty else {
          throw HIODError(
            .noMatch, "no PCI device is bound to a VFIO driver\(host.name.map { " on host \($0)" } ?? "")",
            hints: ["bind a device with: driverctl set-override <BDF> vfio-pci"])
        }
      } else {
        devices = try DeviceArguments.resolve(invocation.positionals, in: host, command: "check")
      }
      host.reportWarnings(among: hosts.count)
      let realized = devices.map { host.realizer.realize($0, in: host.inventory, backend: choice) }
      realizations.append(realized)
      poolHosts.append(
        PoolHost(
          name: host.name ?? "this host",
          devices: realized.map {
            DeviceCheckInput(device: $0.device, realization: $0, group: host.inventory.group($0.device.iommuGroup))
          },
          facts: host.inventory.facts))
    }
    let reports = VIOMMUPool.check(configuration, hosts: poolHosts)
    let suggest = invocation.has(.suggest)

    if hosts.count == 1 {
      let suggestion =
        suggest
        ? VIOMMUSuggester.suggest(
          model: configuration.model, qemu: configuration.qemu, machine: configuration.machine,
          devices: poolHosts[0].devices, host: poolHosts[0].facts)
        : nil
      if context.json {
        try Output.json(
          CheckDocument(
            report: reports[0], realizations: realizations[0], assumptions: assumptions, suggestion: suggestion))
      } else {
        Output.line(
          CheckText.render(
            reports[0], realizations: realizations[0], assumptions: assumptions, numeric: context.numeric))
        if let suggestion { Output.line("\n" + CheckText.render(suggestion)) }
      }
      if let suggestion { return suggestion.configuration == nil ? .incompatible : .success }
      return exitStatus(reports[0].status)
    }

    // A pool: a configuration holds only if every host accepts it.
    let pool =
      suggest
      ? VIOMMUPool.suggest(
        model: configuration.model, qemu: configuration.qemu, machine: configuration.machine, hosts: poolHosts)
      : nil
    let documents = zip(reports, realizations).map {
      CheckDocument(report: $0, realizations: $1, assumptions: assumptions, suggestion: nil)
    }
    if context.json {
      try Output.json(
        PoolCheckDocument(
          configuration: configuration, assumptions: assumptions, status: VIOMMUPool.status(reports),
          hosts: zip(hosts, documents).map { ($0.name, $0.file, $1) }, suggestion: pool))
    } else {
      var sections = zip(hosts, zip(reports, realizations)).map { host, pair in
        "== \(host.title)\n"
          + CheckText.render(pair.0, realizations: pair.1, assumptions: assumptions, numeric: context.numeric)
      }
      sections.append(CheckText.renderPool(reports, hosts: poolHosts.map(\.name), suggestion: pool))
      Output.line(sections.joined(separator: "\n\n"))
    }
    if let pool { return pool.configuration == nil ? .incompatible : .success }
    return exitStatus(VIOMMUPool.status(reports))
  }

  private static func exitStatus(_ status: FindingStatus) -> ExitStatus {
    switch status {
    case .pass: .success
    case .fail: .incompatible
    case .undetermined: .undetermined
    }
  }

  /// The vIOMMU configuration the options describe, validated against the model (a
  /// property the model does not have is a usage error, not silently ignored), and the
  /// assumptions hiodctl made beyond QEMU's defaults.
  static func configuration(from invocation: Invocation) throws -> (VIOMMUConfiguration, [String]) {
    guard let modelName = invocation.value(.viommu), let model = VIOMMUModel(rawValue: modelName) else {
      throw UsageError(
        message: "'check' needs --viommu MODEL",
        hints: ["models: " + VIOMMUModel.allCases.map(\.rawValue).joined(separator: ", ")],
        command: "check")
    }
    var qemu = QEMUVersion.newest
    if let text = invocation.value(.qemu) {
      guard let version = QEMUVersion(text) else {
        throw UsageError(
          message: "invalid QEMU version '\(text)'",
          hints: ["known: " + QEMUVersion.known.map(\.description).joined(separator: ", ")],
          command: "check")
      }
      qemu = version
    }
    var machine: MachineType?
    if let text = invocation.value(.machine) {
      guard let parsed = MachineType(text) else {
        throw UsageError(
          message: "invalid machine type '\(text)'",
          hints: ["e.g. pc-q35-9.1, q35, pc-i440fx-10.0, virt-10.0, virt"], command: "check")
      }
      machine = parsed
    }

    var options = VIOMMUOptions()
    options.awBits = try integer(.awBits, invocation)
    options.cachingMode = onOff(.cachingMode, invocation)
    var assumptions: [String] = []
    if model == .intel && options.cachingMode == nil {
      // intel-iommu refuses every assigned device without caching-mode=on, so "will this
      // device work" presumes it; QEMU's own default (off) is checked with --caching-mode off.
      options.cachingMode = true
      assumptions.append(
        "caching-mode=on assumed: intel-iommu refuses every assigned device without it "
          + "(QEMU's default is off; --caching-mode off checks that)")
    }
    options.scalableMode = onOff(.scalableMode, invocation)
    options.xFlts = invocation.has(.xFlts) ? true : nil
    options.fs1gp = onOff(.fs1gp, invocation)
    options.granule = invocation.value(.granule).flatMap(Granule.init(rawValue:))
    options.accel = invocation.has(.accel) ? true : nil
    options.oas = try integer(.oas, invocation)
    options.ssidsize = try integer(.ssidsize, invocation)
    options.ril = onOff(.ril, invocation)
    options.ats = onOff(.ats, invocation)
    options.dmaRemap = onOff(.dmaRemap, invocation)
    let configuration = VIOMMUConfiguration(model: model, qemu: qemu, machine: machine, options: options)

    // A property is the model's when the configuration has an effective value for it.
    let applicable: [(OptionID, Bool)] = [
      (.awBits, configuration.awBits != nil), (.cachingMode, configuration.cachingMode != nil),
      (.scalableMode, configuration.scalableMode != nil), (.xFlts, configuration.xFlts != nil),
      (.fs1gp, configuration.fs1gp != nil), (.granule, configuration.granule != nil),
      (.accel, configuration.accel != nil), (.oas, configuration.oas != nil),
      (.ssidsize, configuration.ssidsize != nil), (.ril, configuration.ril != nil),
      (.ats, configuration.ats != nil), (.dmaRemap, configuration.dmaRemap != nil),
    ]
    for (option, isProperty) in applicable where invocation.has(option) && !isProperty {
      let spelling = OptionTable.check.options.first { $0.id == option }?.long ?? option.rawValue
      throw UsageError(
        message: "\(spelling) is not a property of \(model.qemuDevice)",
        hints: ["'hiodctl check --help' lists which properties belong to which model"],
        command: "check")
    }
    return (configuration, assumptions)
  }

  private static func onOff(_ option: OptionID, _ invocation: Invocation) -> Bool? {
    invocation.value(option).map { $0 == "on" }
  }

  private static func integer(_ option: OptionID, _ invocation: Invocation) throws -> Int? {
    guard let text = invocation.value(option) else { return nil }
    guard let value = Int(text), value >= 0, value <= 64 else {
      let spelling = OptionTable.check.options.first { $0.id == option }?.long ?? option.rawValue
      throw UsageError(message: "invalid value '\(text)' for \(spelling): expected a number of bits", command: "check")
    }
    return value
  }
}
