// hiodctl tests — QEMU's format strings filled in as C's printf fills them: glibc's
// snprintf is the oracle, on random formats over the conversions QEMU's messages use.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc
import Testing

@testable import HostIOMMU

struct QEMUFormatTests {
  /// Every format in the rule table is ASCII, so a '%' byte is always a conversion's and
  /// the fill may work on bytes.
  @Test func everyRuleFormatIsASCII() {
    let wide = QEMURules.table.filter { !$0.format.utf8.allSatisfy { $0 < 0x80 } }.map(\.id)
    #expect(wide.isEmpty)
  }

  /// Random formats of literal text and `%d %i %u %x %X %s %%` with zero padding, widths
  /// and the length modifiers QEMU uses, against glibc's snprintf with the same arguments.
  @Test func agreesWithSnprintf() {
    var random = SplitMix64(seed: 0x716d_7566)
    let literals = ["", "a", "vfio ", ": ", "aw-bits ", " > ", "0x", "(", ")", "=", "é", "—", "\n"]
    let modifiers = ["", "l", "ll", "z"]
    let strings = ["", "x", "0000:01:00.0", "iommufd", "a longer string argument"]
    for _ in 0..<5000 {
      var format = ""
      var arguments: [FormatArgument] = []
      var cArguments: [any CVarArg] = []
      var owned: [UnsafeMutablePointer<CChar>] = []
      for _ in 0..<random.below(5) {
        format += literals[random.below(literals.count)]
        let width = random.below(3) == 0 ? String(random.below(22)) : ""
        switch random.below(7) {
        case 0:
          format += "%%"
        case 1:
          // No '0' with %s: C leaves that undefined.
          format += "%\(width)s"
          let text = strings[random.below(strings.count)]
          arguments.append(.string(text))
          let copy = strdup(text)!
          owned.append(copy)
          cArguments.append(UnsafePointer(copy))
        default:
          let conversion = ["d", "i", "u", "x", "X"][random.below(5)]
          let zero = random.below(2) == 0 ? "0" : ""
          format += "%\(zero)\(width)\(modifiers[random.below(modifiers.count)])\(conversion)"
          let bits = random.next() >> UInt64(random.below(64))
          if conversion == "u" || random.below(2) == 0 {
            // Unsigned: what a uint64_t or size_t argument prints (%d of one fits Int64).
            let value = conversion == "d" || conversion == "i" ? bits >> 1 : bits
            arguments.append(.uint(value))
            cArguments.append(value)
          } else {
            let value = random.below(2) == 0 ? Int64(bitPattern: bits) : -Int64(bits >> 1)
            arguments.append(.int(value))
            cArguments.append(value)
          }
        }
      }
      format += literals[random.below(literals.count)]
      // Every conversion above reads 64 bits: C's l/ll/z do; a bare %d reads an int, so
      // the format handed to C says ll where QEMU's would say nothing.
      let cFormat = cLengths(format)
      let expected = withVaList(cArguments) { list in
        var buffer = [CChar](repeating: 0, count: 4096)
        _ = vsnprintf(&buffer, buffer.count, cFormat, list)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      }
      for copy in owned { free(copy) }
      #expect(Array(QEMUFormat.fill(format, arguments).utf8) == Array(expected.utf8), "\(format) \(arguments)")
    }
  }

  /// What C cannot judge: placeholders, missing and extra arguments, flags QEMU's
  /// messages do not use (the fill keeps their digits and ignores '-' and '#').
  @Test func theCasesOutsideCsPrintf() {
    #expect(
      QEMUFormat.fill("fd=%d iommufd=%d", [.placeholder("<fd>"), .placeholder("<fd>")]) == "fd=<fd> iommufd=<fd>")
    #expect(QEMUFormat.fill("%s and %d", ["one"]) == "one and ")
    #expect(QEMUFormat.fill("%d", [1, 2]) == "1")
    #expect(QEMUFormat.fill("%-5d|%#x", [7, 255]) == "    7|ff")
    #expect(QEMUFormat.fill("%p", [.placeholder("<ptr>")]) == "<ptr>")
    #expect(QEMUFormat.fill("%02x:%02x.%x", [.uint(1), .uint(0), .uint(3)]) == "01:00.3")
    #expect(QEMUFormat.fill("%5s|%3s", ["é", "—"]) == "    é|  —")
    #expect(QEMUFormat.fill("100%", []) == "100")
    #expect(QEMUFormat.fill("%ll", [1]) == "")
    #expect(QEMUFormat.fill("%hhd", [.int(300)]) == "300")
  }

  /// `%d` → `%lld`, `%lx` → `%llx`, `%zu` → `%llu`: C's 64-bit spelling of each integer
  /// conversion.
  private func cLengths(_ format: String) -> String {
    var output = ""
    var rest = Substring(format)
    while let percent = rest.firstIndex(of: "%") {
      output += rest[..<percent]
      rest = rest[rest.index(after: percent)...]
      if rest.first == "%" {
        output += "%%"
        rest.removeFirst()
        continue
      }
      output += "%"
      while let character = rest.first, character == "0" || character.isNumber {
        output.append(character)
        rest.removeFirst()
      }
      while let character = rest.first, "lz".contains(character) { rest.removeFirst() }
      if rest.first != "s" { output += "ll" }
    }
    return output + rest
  }
}
