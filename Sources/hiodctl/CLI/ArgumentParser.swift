// hiodctl — a small table-driven argument parser (no swift-argument-parser, by design).
// SPDX-License-Identifier: GPL-2.0-or-later

/// A mistake on the command line: printed as `hiodctl: <message>`, hints, and a pointer
/// to the right `--help`; the process exits with 64 (EX_USAGE).
struct UsageError: Error, Equatable {
  let message: String
  var hints: [String] = []
  /// The command whose help the user should read (nil: the top-level help).
  var command: String?
}

/// A parsed command line.
struct Invocation: Equatable {
  /// nil when only global options were given (`hiodctl --version`).
  var command: String?
  /// The value of each option given (for a repeatable one, the last); flags map to "".
  var values: [OptionID: String] = [:]
  /// Every value of a repeatable option (`--host a --host b`, `-s 1 -s 2`), in order.
  var repeated: [OptionID: [String]] = [:]
  /// How often each counted flag was given (`-nn`: 2).
  var counts: [OptionID: Int] = [:]
  var positionals: [String] = []
  /// `check [options] -- QEMU-ARGV...`: the QEMU command line after `--`.
  var qemuCommandLine: [String]?

  func has(_ option: OptionID) -> Bool { values[option] != nil }

  /// Whether `arguments` ask for JSON (`--json` before any `--`), told without parsing
  /// them: a command line that does not parse still gets its error as JSON.
  static func asksForJSON(_ arguments: [String]) -> Bool {
    for argument in arguments {
      if argument == "--" { return false }
      if argument == "--json" { return true }
    }
    return false
  }
  func value(_ option: OptionID) -> String? { values[option] }
  func allValues(_ option: OptionID) -> [String] { repeated[option] ?? values[option].map { [$0] } ?? [] }
  func count(_ option: OptionID) -> Int { counts[option] ?? (values[option] == nil ? 0 : 1) }
}

/// Parses `arguments` (without the program name) against `OptionTable`.
///
/// Grammar: global options anywhere; the first bare word is the command; after it, the
/// command's options and positionals in any order. `--opt=value` and `--opt value`;
/// short flags bundle (`-nh`) and a short option's value may be attached (`-s00:02.0`);
/// `--` ends option parsing. A lone `-` is a positional.
struct ArgumentParser {
  private var invocation = Invocation()
  private var commandSpec: CommandSpec?
  private var onlyPositionals = false

  static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
    var parser = ArgumentParser()
    var remaining = arguments[...]
    while let argument = remaining.popFirst() {
      if argument == "--", !parser.onlyPositionals, parser.commandSpec?.id == .check {
        // Everything after it is QEMU's, options included.
        parser.invocation.qemuCommandLine = Array(remaining)
        break
      }
      try parser.consume(argument, rest: &remaining)
    }
    try parser.validatePositionals()
    return parser.invocation
  }

  /// The options valid at this point: the globals, plus the command's once it is known.
  private var activeOptions: [OptionSpec] {
    OptionTable.globalOptions + (commandSpec?.options ?? [])
  }

  private mutating func consume(_ argument: String, rest: inout ArraySlice<String>)
    throws(UsageError)
  {
    if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
      try positional(argument)
    } else if argument == "--" {
      onlyPositionals = true
    } else if argument.hasPrefix("--") {
      try long(argument, rest: &rest)
    } else {
      try shortCluster(argument, rest: &rest)
    }
  }

  private mutating func positional(_ argument: String) throws(UsageError) {
    guard commandSpec != nil else {
      guard let spec = OptionTable.command(named: argument) else {
        var error = UsageError(message: "unknown command '\(argument)'")
        let names = OptionTable.commands.map(\.name)
        if let guess = closest(to: argument, among: names) {
          error.hints.append("did you mean '\(guess)'?")
        }
        error.hints.append("commands: \(names.joined(separator: ", "))")
        throw error
      }
      commandSpec = spec
      invocation.command = spec.name
      return
    }
    invocation.positionals.append(argument)
  }

  private mutating func long(_ argument: String, rest: inout ArraySlice<String>)
    throws(UsageError)
  {
    let name: String
    let attached: String?
    if let equals = argument.firstIndex(of: "=") {
      name = String(argument[..<equals])
      attached = String(argument[argument.index(after: equals)...])
    } else {
      (name, attached) = (argument, nil)
    }
    guard let spec = activeOptions.first(where: { $0.long == name }) else {
      throw unknownOption(name)
    }
    if !spec.takesValue {
      if attached != nil {
        throw error("option '\(spec.long)' takes no value")
      }
      try flag(spec)
      return
    }
    if let attached {
      try store(attached, for: spec)
    } else {
      try store(nextValue(for: spec, rest: &rest), for: spec)
    }
  }

  private mutating func shortCluster(_ argument: String, rest: inout ArraySlice<String>)
    throws(UsageError)
  {
    var letters = argument.dropFirst()[...]
    while let letter = letters.popFirst() {
      guard let spec = activeOptions.first(where: { $0.short == letter }) else {
        throw unknownOption("-\(letter)", within: argument.count > 2 ? argument : nil)
      }
      guard spec.takesValue else {
        try flag(spec)
        continue
      }
      // The rest of the cluster is the value (`-s00:02.0`), else the next argument.
      let value = letters.isEmpty ? try nextValue(for: spec, rest: &rest) : String(letters)
      try store(value, for: spec)
      return
    }
  }

  private func nextValue(for spec: OptionSpec, rest: inout ArraySlice<String>)
    throws(UsageError) -> String
  {
    // `--sysroot --json` is a forgotten value, not a directory called "--json".
    guard let next = rest.first, !isOptionSpelling(next) else {
      throw error("missing value for \(spec.quotedForError)")
    }
    rest.removeFirst()
    return next
  }

  private func isOptionSpelling(_ text: String) -> Bool {
    let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
    return OptionTable.allOptions.contains { $0.spellings.contains(name) } || text == "--"
  }

  /// A flag: given again it changes nothing, unless it is counted (`-nn`).
  private mutating func flag(_ spec: OptionSpec) throws(UsageError) {
    invocation.values[spec.id] = ""
    guard case .count(let maximum) = spec.repeatPolicy else { return }
    let count = (invocation.counts[spec.id] ?? 0) + 1
    if count > maximum {
      let shown = spec.short.map { "-\($0)" } ?? spec.long
      throw error(
        "'\(shown)' given \(count) times: it counts at most \(maximum == 2 ? "twice" : "\(maximum) times")",
        hints: spec.id == .numeric ? ["-n shows numeric IDs only; -nn names and numbers, as lspci"] : [])
    }
    invocation.counts[spec.id] = count
  }

  private mutating func store(_ value: String, for spec: OptionSpec) throws(UsageError) {
    if case .choice(let words) = spec.valueKind, !words.contains(value) {
      throw error(
        "invalid value '\(value)' for \(spec.quotedForError)",
        hints: ["expected one of: \(words.joined(separator: ", "))"])
    }
    if value.isEmpty {
      throw error("empty value for \(spec.quotedForError)")
    }
    if let earlier = invocation.values[spec.id], spec.repeatPolicy == .refuse {
      throw error(
        "\(spec.quotedForError) given twice ('\(earlier)', then '\(value)')",
        hints: ["give it once: hiodctl does not pick one of two values for you"])
    }
    invocation.values[spec.id] = value
    if spec.repeatable { invocation.repeated[spec.id, default: []].append(value) }
  }

  private func validatePositionals() throws(UsageError) {
    guard let spec = commandSpec, invocation.values[.help] == nil else { return }
    if case .list(let metaVar, let minimum) = spec.positionals, invocation.positionals.count < minimum {
      throw error(
        "'\(spec.name)' needs at least \(minimum == 1 ? "one" : String(minimum)) \(metaVar.trimmingCharacters("."))",
        hints: [
          """
          '\(Help.commandPrefix(sysroot: invocation.values[.sysroot], hosts: invocation.allValues(.host))) \
          list --vfio' shows the devices bound to VFIO
          """
        ])
    }
    if case .none = spec.positionals, !invocation.positionals.isEmpty {
      let extra = invocation.positionals
      let quoted = extra.map { "'\($0)'" }.joined(separator: ", ")
      throw error(
        extra.count == 1
          ? "unexpected argument \(quoted)" : "\(extra.count) unexpected arguments: \(quoted)",
        hints: ["'\(spec.name)' takes no arguments"])
    }
  }

  private func error(_ message: String, hints: [String] = []) -> UsageError {
    UsageError(message: message, hints: hints, command: commandSpec?.name)
  }

  private func unknownOption(_ name: String, within cluster: String? = nil) -> UsageError {
    let shown = cluster.map { "'\(name)' in '\($0)'" } ?? "'\(name)'"
    var failure = error("unknown option \(shown)")
    // Spelling suggestions only make sense for long names: every one-letter option is
    // one edit away from every other.
    let active = activeOptions.map(\.long)
    if name.hasPrefix("--"), let guess = closest(to: name, among: active) {
      failure.hints.append("did you mean '\(guess)'?")
    } else if commandSpec == nil,
      let owner = OptionTable.commands.first(where: { $0.options.contains { $0.spellings.contains(name) } })
    {
      failure.hints.append("'\(name)' is an option of '\(owner.name)'; put it after the command")
    }
    return failure
  }
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo.
func closest(to word: String, among candidates: [String]) -> String? {
  let scored = candidates.map { ($0, editDistance(word, $0)) }
  guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
  let allowed = max(1, min(3, word.count / 3))
  return best.1 <= allowed ? best.0 : nil
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
      current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}

extension String {
  /// The string without trailing `character`s (`BDF...` → `BDF`).
  func trimmingCharacters(_ character: Character) -> String {
    var result = self
    while result.last == character { result.removeLast() }
    return result
  }
}
