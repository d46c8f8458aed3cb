// hiodctl — will this host PCI device work behind this vIOMMU? Ask before QEMU fails.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import HostIOMMU

/// Runs one invocation and returns its exit status. Every failure path ends here as a
/// message on stderr and a documented status; nothing traps. With --json, a failure is
/// also one JSON error document on stdout, so a script piping into jq never reads an
/// empty answer as a good one.
func run(_ arguments: [String]) -> ExitStatus {
  let wantsJSON = Invocation.asksForJSON(arguments)
  let invocation: Invocation
  do {
    invocation = try ArgumentParser.parse(arguments)
  } catch {
    return fail(Help.usageError(error), message: error.message, hints: error.hints, status: .usage, json: wantsJSON)
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
    if invocation.has(.json) {
      Output.json(contract: VersionDocument())
    } else {
      Output.line("hiodctl \(HIODVersion.string) (libpci \(HIODVersion.libpci))")
    }
    return .success
  }
  guard let command = invocation.command.flatMap(CommandID.init(rawValue:)) else {
    let error = UsageError(
      message: "no command given",
      hints: ["commands: \(OptionTable.commands.map(\.name).joined(separator: ", "))"])
    return fail(Help.usageError(error), message: error.message, hints: error.hints, status: .usage, json: wantsJSON)
  }
  var context: CommandContext?
  do {
    let ready = try CommandContext(invocation)
    context = ready
    switch command {
    case .list: return try ListCommand.run(invocation, context: ready)
    case .caps: return try CapsCommand.run(invocation, context: ready)
    case .check: return try CheckCommand.run(invocation, context: ready)
    case .host: return try HostCommand.run(invocation, context: ready)
    case .snapshot: return try SnapshotCommand.run(invocation, context: ready)
    case .export: return try ExportCommand.run(invocation, context: ready)
    }
  } catch let error as UsageError {
    return fail(Help.usageError(error), message: error.message, hints: error.hints, status: .usage, json: wantsJSON)
  } catch let error as HIODError {
    if command == .export, invocation.value(.format) == "ansible" {
      // Fact gathering must get facts, not a failed script: say it inside, exit 0.
      return ExportCommand.ansibleFacts(reporting: error, to: invocation.value(.output))
    }
    let hints = error.hints.map { context?.contextual($0) ?? $0 }
    var text = (["hiodctl: " + error.message] + hints.map { "hint: \($0)" }).joined(separator: "\n")
    if error.code == .usage, let command = invocation.command {
      text += "\nTry 'hiodctl \(command) --help' for more information."
    }
    return fail(text, message: error.message, hints: hints, status: error.exitStatus, json: wantsJSON)
  } catch {
    return fail("hiodctl: \(error)", message: "\(error)", status: .runtimeError, json: wantsJSON)
  }
}

/// Reports a failure: `text` on stderr and, for --json, the error document on stdout
/// (unless something is already there). Returns `status`.
func fail(_ text: String, message: String, hints: [String] = [], status: ExitStatus, json: Bool) -> ExitStatus {
  Output.error(text)
  if json && !Output.wroteStandardOutput {
    Output.json(contract: ErrorDocument(message: message, hints: hints, exitStatus: status.rawValue))
  }
  return status
}

Output.prepare()
var status = run(PathBytes.arguments())
if let failure = Output.standardOutputError {
  // The answer did not reach the reader (a full disk, a file-size limit, a closed pipe):
  // no script may take it for a success.
  Output.error("hiodctl: cannot write to standard output: \(Output.describe(errno: failure))")
  status = .runtimeError
}
exit(status.rawValue)
