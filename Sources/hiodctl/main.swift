// hiodctl — will this host PCI device work behind this vIOMMU? Ask before QEMU fails.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import HostIOMMU

/// Runs one invocation and returns its exit status. Every failure path ends here as a
/// message on stderr and a documented status; nothing traps.
func run(_ arguments: [String]) -> ExitStatus {
  let invocation: Invocation
  do {
    invocation = try ArgumentParser.parse(arguments)
  } catch {
    Output.error(Help.usageError(error))
    return .usage
  }
  if invocation.has(.help) {
    if let name = invocation.command, let spec = OptionTable.command(named: name) {
      Output.line(Help.command(spec))
    } else {
      Output.line(Help.topLevel())
    }
    return .success
  }
  if invocation.has(.version) {
    Output.line("hiodctl \(HIODVersion.string) (libpci \(HIODVersion.libpci))")
    return .success
  }
  guard let command = invocation.command.flatMap(CommandID.init(rawValue:)) else {
    Output.error(
      Help.usageError(
        UsageError(
          message: "no command given",
          hints: ["commands: \(OptionTable.commands.map(\.name).joined(separator: ", "))"])))
    return .usage
  }
  do {
    let context = try CommandContext(invocation)
    switch command {
    case .list: return try ListCommand.run(invocation, context: context)
    case .caps: return try CapsCommand.run(invocation, context: context)
    case .check: return try CheckCommand.run(invocation, context: context)
    case .snapshot: return try SnapshotCommand.run(invocation, context: context)
    case .export: return try ExportCommand.run(invocation, context: context)
    }
  } catch let error as UsageError {
    Output.error(Help.usageError(error))
    return .usage
  } catch let error as HIODError {
    if command == .export, invocation.value(.format) == "ansible" {
      // Fact gathering must get facts, not a failed script: say it inside, exit 0.
      return ExportCommand.ansibleFacts(reporting: error, to: invocation.value(.output))
    }
    Output.error("hiodctl: " + error.description)
    if error.code == .usage, let command = invocation.command {
      Output.error("Try 'hiodctl \(command) --help' for more information.")
    }
    return error.exitStatus
  } catch {
    Output.error("hiodctl: \(error)")
    return .runtimeError
  }
}

exit(run(Array(CommandLine.arguments.dropFirst())).rawValue)
