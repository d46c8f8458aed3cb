// hiodctl check — predict QEMU's verdict on each device behind a vIOMMU configuration.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU

enum CheckCommand {
  static func run(_ invocation: Invocation, context: CommandContext) throws -> ExitStatus {
    // `--qemu help`, as QEMU's `-machine help`: the releases hiodctl knows, one a line
    // (what the shell completions offer).
    if invocation.value(.qemu) == "help" {
      Output.line(QEMUVersion.known.map(\.description).joined(separator: "\n"))
      return .success
    }
    let input = try vmInput(invocation, context: context)
    let configuration = input.configuration
    let assumptions = input.assumptions
    let explicitBackend = invocation.value(.backend).flatMap(BackendChoice.init(rawValue:))
    let hosts = try context.hosts(allowBusReset: invocation.has(.force))
    var poolHosts: [PoolHost] = []
    var realizations: [[DeviceRealization]] = []
    for host in hosts {
      let devices: [PCIDevice]
      if let vm = input.invocation {
        devices = try vm.devices.map { assigned in
          guard let device = host.inventory.devices.first(where: { $0.address == assigned.host }) else {
            throw HIODError(
              .notFound,
              "\(assigned.optionText): no PCI device \(assigned.host) on \(host.place)",
              hints: ["QEMU would say: vfio /sys/bus/pci/devices/\(assigned.host): no such host device"])
          }
          return device
        }
      } else if input.all {
        devices = host.inventory.devices.filter(\.isVFIOBound)
        guard !devices.isEmpty else {
          throw ListCommand.noVFIODevice(
            hosts: [host], deviceCount: host.inventory.devices.count, context: context)
        }
      } else {
        devices = try DeviceArguments.resolve(invocation.positionals, in: host, command: "check", keepDuplicates: true)
      }
      host.reportWarnings(among: hosts.count)
      // The backend to ask: as given; else the legacy container, which does not open the
      // device (iommufd's bind resets it) — unless QEMU gives the device to iommufd and the
      // check needs what only IOMMU_GET_HW_INFO tells (first-stage translation, accel).
      let choice = explicitBackend ?? .auto
      var cache: [PCIAddress: DeviceRealization] = [:]
      let realized = devices.map { device -> DeviceRealization in
        if let known = cache[device.address] { return known }
        let wantsHardwareInfo =
          explicitBackend == nil && (input.invocation?.needsIOMMUFDAnswer(for: device.address, configuration) ?? false)
        let realization = host.realize(device, backend: choice, preferIOMMUFD: wantsHardwareInfo)
        cache[device.address] = realization
        return realization
      }
      realizations.append(realized)
      poolHosts.append(
        PoolHost(
          name: host.name ?? "this host",
          devices: host.inventory.checkInputs(realized),
          facts: host.inventory.facts))
    }
    let vm =
      input.invocation
      ?? VMInvocation.canonical(
        configuration: configuration, devices: poolHosts.first?.devices.map(\.device.address) ?? [],
        backend: explicitBackend == .iommufd ? .iommufd : .legacy)
    let reports = VIOMMUPool.check(configuration, hosts: poolHosts, invocation: vm, vmPerDevice: input.all)
    let suggest = invocation.has(.suggest)
    let quiet = invocation.has(.quiet)
    // Groups that could not be read leave every verdict open: at best undetermined.
    let groupsUnknown = hosts.contains { $0.inventory.facts.iommuGroupsError != nil }
    func atBest(_ status: ExitStatus) -> ExitStatus {
      groupsUnknown && status == .success ? .undetermined : status
    }

    if hosts.count == 1 {
      let suggestion =
        suggest
        ? VIOMMUSuggester.suggest(
          model: configuration.model, qemu: configuration.qemu, machine: configuration.machine,
          devices: poolHosts[0].devices, host: poolHosts[0].facts)
        : nil
      if context.json {
        Output.json(
          contract: CheckDocument(
            report: reports[0], realizations: realizations[0], assumptions: assumptions, suggestion: suggestion))
      } else {
        Output.line(
          context.contextual(
            CheckText.render(
              reports[0], realizations: realizations[0], assumptions: assumptions, numeric: context.numeric,
              quiet: quiet)))
        if let suggestion { Output.line("\n" + context.contextual(CheckText.render(suggestion, quiet: quiet))) }
      }
      // With --suggest the answer is the suggested configuration's verdict over every
      // device: a device it leaves incompatible (or undetermined) still says so.
      if let suggestion { return atBest(suggestionStatus(suggestion.configuration, suggestion.report)) }
      return atBest(exitStatus(reports[0].verdict))
    }

    // A pool: a configuration holds only if every host accepts it.
    let pool =
      suggest
      ? VIOMMUPool.suggest(
        model: configuration.model, qemu: configuration.qemu, machine: configuration.machine, hosts: poolHosts)
      : nil
    // The pool's answer, which its JSON `status` gives too: with --suggest the pool's
    // configuration over every host (a host where it fails fails the pool).
    let status: ExitStatus
    if let pool {
      status =
        pool.configuration == nil
        ? .incompatible
        : atBest(ExitStatus.verdict(of: pool.hosts.map { suggestionStatus(pool.configuration, $0.poolReport) }))
    } else {
      status = atBest(ExitStatus.verdict(of: reports.map { exitStatus($0.verdict) }))
    }
    let documents = zip(reports, realizations).map {
      CheckDocument(report: $0, realizations: $1, assumptions: assumptions, suggestion: nil)
    }
    if context.json {
      Output.json(
        contract: PoolCheckDocument(
          configuration: configuration, assumptions: assumptions, status: findingStatus(status),
          hosts: zip(hosts, documents).map { ($0.name, $0.file, $1) }, suggestion: pool))
    } else {
      var sections = zip(hosts, zip(reports, realizations)).map { host, pair in
        "== \(host.title)\n"
          + CheckText.render(
            pair.0, realizations: pair.1, assumptions: assumptions, numeric: context.numeric, quiet: quiet)
      }
      sections.append(CheckText.renderPool(reports, hosts: poolHosts.map(\.name), suggestion: pool))
      Output.line(context.contextual(sections.joined(separator: "\n\n")))
    }
    return status
  }

  /// A verdict's exit status as a JSON `status`.
  static func findingStatus(_ status: ExitStatus) -> FindingStatus {
    switch status {
    case .success: .pass
    case .undetermined: .undetermined
    default: .fail
    }
  }

  /// The exit status of a suggested configuration: 1 when there is none or a device
  /// fails under it, 2 when a verdict stays open, 0 when every device works.
  static func suggestionStatus(_ configuration: VIOMMUConfiguration?, _ report: CheckReport?) -> ExitStatus {
    guard configuration != nil, let report else { return .incompatible }
    return exitStatus(report.verdict)
  }

  /// 0 works, 1 refuses or DMA fails, 2 undetermined.
  static func exitStatus(_ verdict: QEMUVerdict) -> ExitStatus {
    switch verdict {
    case .works: .success
    case .refuses, .dmaFails: .incompatible
    case .undetermined: .undetermined
    }
  }

  /// What to check: the configuration, the VM when the input is a command line, and
  /// whether the flags ask for every VFIO-bound device.
  struct VMInput {
    var configuration: VIOMMUConfiguration
    var assumptions: [String]
    var invocation: VMInvocation?
    var all: Bool
  }

  static func vmInput(_ invocation: Invocation, context: CommandContext) throws -> VMInput {
    if let file = invocation.value(.domain) {
      if invocation.qemuCommandLine != nil {
        throw UsageError(message: "give --domain or a QEMU command line after --, not both", command: "check")
      }
      let bytes = try LibvirtDomain.read(file)
      let parsed: ParsedCommandLine
      do {
        parsed = try LibvirtDomain.parse(bytes, source: file == "-" ? "<stdin>" : file)
      } catch {
        throw UsageError(message: error.message, hints: error.hints, command: "check")
      }
      return try vmInput(parsed, invocation: invocation, context: context, input: "--domain")
    }
    guard let argv = invocation.qemuCommandLine else {
      let all = invocation.has(.all)
      if all && !invocation.positionals.isEmpty {
        throw UsageError(message: "give BDFs or --all, not both", command: "check")
      }
      if !all && invocation.positionals.isEmpty {
        throw UsageError(
          message: "'check' needs the devices to check: BDFs, --all, or a QEMU command line after --",
          hints: ["'\(context.commandPrefix) list --vfio' shows the devices bound to VFIO"], command: "check")
      }
      let (configuration, assumptions) = try configuration(from: invocation, context: context)
      return VMInput(configuration: configuration, assumptions: assumptions, invocation: nil, all: all)
    }
    guard !argv.isEmpty else {
      throw UsageError(
        message: "no QEMU command line after --", hints: ["e.g. hiodctl check -- qemu-system-x86_64 -M q35 …"],
        command: "check")
    }
    let parsed: ParsedCommandLine
    do {
      parsed = try QEMUCommandLine.parse(argv)
    } catch {
      throw UsageError(message: error.message, hints: error.hints, command: "check")
    }
    return try vmInput(parsed, invocation: invocation, context: context, input: "a QEMU command line")
  }

  /// The input of a VM given whole (a command line or a domain): the flags that say the
  /// same are refused, and the QEMU release is found without running the input's program.
  static func vmInput(
    _ parsed: ParsedCommandLine, invocation: Invocation, context: CommandContext, input: String
  ) throws -> VMInput {
    // The VM says what the flags would: refuse both at once.
    let clashing =
      [OptionID.viommu, .machine, .all, .suggest].filter { invocation.has($0) }.map(\.spelling)
      + VIOMMUProperties.allNames.filter { invocation.has(.property($0)) }.map { "--\($0)" }
    if let first = clashing.first {
      throw UsageError(
        message: "\(first) cannot be combined with \(input): it says that itself",
        hints: ["give the vIOMMU and its properties in the VM, or use flags alone"], command: "check")
    }
    if !invocation.positionals.isEmpty {
      throw UsageError(message: "give BDFs or \(input), not both", command: "check")
    }
    guard !parsed.invocation.devices.isEmpty else {
      throw UsageError(
        message: "the VM assigns no host device (no -device vfio-pci)", command: "check")
    }
    var assumptions: [String] = []
    let qemu: QEMUVersion
    if let version = try requestedQEMU(invocation) {
      qemu = version
    } else if context.snapshotFiles.isEmpty, let program = parsed.invocation.program,
      let found = HostQEMUDetector.release(ofProgram: program, root: context.root)
    {
      qemu = found.version
      assumptions.append("QEMU \(found.version): \(program) (\(found.source))")
    } else if let found = context.hostQEMU {
      qemu = found.version
      assumptions.append(
        """
        QEMU \(found.version): the host's (\(found.source)); \(parsed.invocation.program ?? "the program") was not run \
        (hiodctl runs no program the input names unless it is a root-owned system binary)
        """
      )
    } else {
      qemu = .newest
      assumptions.append(
        """
        QEMU \(QEMUVersion.newest), the newest release hiodctl knows: \
        the command line's QEMU is unknown here (--qemu names one)
        """
      )
    }
    let unknown = parsed.otherProperties.filter { property in
      !VIOMMUProperties.isKnownOther(property.name, model: parsed.model)
    }
    if !unknown.isEmpty {
      assumptions.append(
        "\(parsed.model.qemuDevice) properties hiodctl has no rules for: "
          + unknown.map(\.description).joined(separator: ", "))
    }
    if !parsed.invocation.ignored.isEmpty {
      assumptions.append("ignored (no part in the verdict): " + parsed.invocation.ignored.joined(separator: " "))
    }
    return VMInput(
      configuration: parsed.configuration(qemu: qemu), assumptions: assumptions, invocation: parsed.vm, all: false)
  }

  /// The release --qemu names (nil: not given); a release hiodctl does not know is a
  /// usage error listing the known ones.
  static func requestedQEMU(_ invocation: Invocation) throws -> QEMUVersion? {
    guard let text = invocation.value(.qemu) else { return nil }
    guard let version = QEMUVersion(text) else {
      throw UsageError(
        message: "invalid QEMU version '\(text)'",
        hints: ["known: \(QEMUVersion.oldest) to \(QEMUVersion.newest); hiodctl check --qemu help lists them"],
        command: "check")
    }
    return version
  }

  /// The vIOMMU configuration the options describe, validated against the model (a
  /// property the model does not have is a usage error, not silently ignored), and the
  /// assumptions hiodctl made beyond QEMU's defaults.
  static func configuration(from invocation: Invocation, context: CommandContext) throws -> (
    VIOMMUConfiguration, [String]
  ) {
    guard let modelName = invocation.value(.viommu), let model = VIOMMUModel(rawValue: modelName) else {
      throw UsageError(
        message: "'check' needs --viommu MODEL",
        hints: ["models: " + VIOMMUModel.allCases.map(\.rawValue).joined(separator: ", ")],
        command: "check")
    }
    var assumptions: [String] = []
    let qemu: QEMUVersion
    if let version = try requestedQEMU(invocation) {
      qemu = version
    } else if let found = context.hostQEMU {
      qemu = found.version
      assumptions.append("QEMU \(found.version): the host's (\(found.source)); --qemu checks another release")
    } else {
      qemu = .newest
      // Snapshots do not record the host's QEMU, and nothing looked for one here.
      let why =
        context.snapshotFiles.isEmpty
        ? "no QEMU is installed \(context.root.isHost ? "on this host" : "in the tree")"
        : context.snapshotFiles.count == 1
          ? "the snapshot does not record which QEMU the host runs"
          : "the snapshots do not record which QEMU the hosts run"
      assumptions.append("QEMU \(QEMUVersion.newest), the newest release hiodctl knows: \(why) (--qemu names one)")
    }
    var machine: MachineType?
    if let text = invocation.value(.machine) {
      guard let parsed = MachineType(text) else {
        throw UsageError(
          message: "invalid machine type '\(text)'",
          hints: ["e.g. " + OptionTable.machineExamples.joined(separator: ", ")], command: "check")
      }
      machine = parsed
    }

    var options = VIOMMUOptions()
    for name in VIOMMUProperties.allNames where invocation.has(.property(name)) {
      guard let row = VIOMMUProperties.row(named: name, model: model) else {
        throw UsageError(
          message: "--\(name) is not a property of \(model == .none ? "a VM without vIOMMU" : model.qemuDevice)",
          hints: ["'hiodctl check --help' lists which properties belong to which model"],
          command: "check")
      }
      let text = invocation.value(.property(name)) ?? ""
      let value: PropertyValue
      switch row.kind {
      case .flag: value = .bool(true)
      case .onOff: value = .bool(text == "on")
      case .choice: value = .word(text)
      case .bits(let range):
        guard let number = Int(text), range.contains(number) else {
          throw UsageError(
            message:
              """
              invalid value '\(text)' for --\(name): expected a number of bits, \
              \(range.lowerBound)–\(range.upperBound)
              """,
            command: "check")
        }
        value = .int(number)
      }
      options.set(row.property, value, spelledAs: name)
    }
    assumptions += model.assumptions(&options)
    let configuration = VIOMMUConfiguration(model: model, qemu: qemu, machine: machine, options: options)
    return (configuration, assumptions)
  }
}
