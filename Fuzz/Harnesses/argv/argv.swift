// hiodctl fuzzing — ArgumentParser.parse(_:) on an arbitrary command line (arguments
// separated by NUL bytes), then the pure validation each command does with the values
// before touching the host: -s/-d filters, BDF positionals, and check's vIOMMU options
// (--qemu, --machine, --aw-bits …). Checks the parse against the option table: a known
// command, only options valid where they were given, values of the right kind; and that
// every usage error renders.
// SPDX-License-Identifier: GPL-2.0-or-later

import FuzzSupport

@testable import HostIOMMU
@testable import hiodctl

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  let argv = arguments(data, size)
  let invocation: Invocation
  do {
    invocation = try ArgumentParser.parse(argv)
  } catch {
    require(!error.message.isEmpty, "a usage error without a message")
    require(
      error.command.map { OptionTable.command(named: $0) != nil } ?? true,
      "usage error names unknown command \(error.command ?? "")")
    let rendered = Help.usageError(error)
    require(
      rendered.hasPrefix("hiodctl: ") && rendered.contains("--help"),
      "usage error renders as \(rendered.debugDescription)")
    return 0
  }
  require((try? ArgumentParser.parse(argv)) == invocation, "parsing the same argv twice differs")

  let spec = invocation.command.flatMap(OptionTable.command(named:))
  require(invocation.command == nil || spec != nil, "unknown command \(invocation.command ?? "") accepted")
  require(spec != nil || invocation.positionals.isEmpty, "positionals \(invocation.positionals) without a command")
  let allowed = OptionTable.globalOptions + (spec?.options ?? [])
  for (id, value) in invocation.values {
    guard let option = allowed.first(where: { $0.id == id }) else {
      require(false, "option \(id) accepted where it is not valid (command \(invocation.command ?? "none"))")
      return 0
    }
    if option.takesValue {
      require(!value.isEmpty, "empty value accepted for \(option.long)")
      if case .choice(let words) = option.valueKind {
        require(words.contains(value), "value '\(value)' accepted for \(option.long), not one of \(words)")
      }
    } else {
      require(value.isEmpty, "flag \(option.long) carries a value '\(value)'")
    }
    if option.repeatable {
      require(invocation.allValues(id).last == value, "\(option.long): last of the repeated values is not the value")
    }
  }

  // What the commands validate before they read the host.
  if let slot = invocation.value(.slot) {
    var filter = DeviceFilter.all
    try? filter.addSlot(slot)
  }
  if let id = invocation.value(.id) {
    var filter = DeviceFilter.all
    try? filter.addID(id)
  }
  for argument in invocation.positionals {
    if let address = PCIAddress(argument) {
      require(PCIAddress(address.description) == address, "BDF \(argument) does not round-trip")
    }
  }
  if let text = invocation.value(.qemu), let version = QEMUVersion(text) {
    require(QEMUVersion(version.description) == version, "--qemu \(text) does not round-trip")
  }
  if let text = invocation.value(.machine), let machine = MachineType(text) {
    require(MachineType(machine.description) == machine, "--machine \(text) does not round-trip as \(machine)")
  }
  // Only with --qemu: without it the configuration asks the host which QEMU it runs, a
  // process per input. The context reads no file for argv without --sysroot/--host.
  if invocation.command == "check", invocation.value(.qemu) != nil, invocation.value(.sysroot) == nil,
    invocation.allValues(.host).isEmpty, let context = try? CommandContext(invocation)
  {
    if let (configuration, _) = try? CheckCommand.configuration(from: invocation, context: context) {
      _ = (configuration.effectiveProperties, configuration.explicitProperties, configuration.qemuDeviceOption)
    }
  }
  return 0
}
