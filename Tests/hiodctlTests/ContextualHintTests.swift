// hiodctl tests — hints rewritten for the input they were given (--sysroot, --host): the
// one-pass byte rewrite gives exactly what Swift's Character-wise `replacing` gives, or
// declines and leaves the text to it.
// SPDX-License-Identifier: GPL-2.0-or-later

import Testing

@testable import hiodctl

struct ContextualHintTests {
  /// The four `replacing` passes: the rewrite as it was first written, and the oracle.
  static func replacedPassByPass(_ text: String, prefix: String) -> String {
    var result = text
    for command in CommandContext.suggestedCommands {
      result = result.replacing("hiodctl \(command)", with: "\(prefix) \(command)")
    }
    return result
  }

  static let pieces = [
    "hiodctl ", "list", "host", "caps", "check", "hiodctl", "x", " ", "\n", "é", "\u{301}", "🙂", "'",
    "run hiodctl caps 0000:01:00.0", "hiodctl listing",
  ]
  static let prefixes = [
    "hiodctl --sysroot /t", "hiodctl --sysroot '/a b'", "hiodctl --host /x/hiodctl check",
    "hiodctl --host a.json --host b.json",
  ]

  /// Texts made of the pieces above, in a fixed pseudo-random order (the same every
  /// run): matches at the start, at the end, next to combining marks and emoji.
  @Test func theOnePassRewriteIsReplacingOrDeclines() {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var rewritten = 0
    var declined = 0
    for _ in 0..<4000 {
      var text = ""
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      for step in 0..<Int(state >> 60) + 1 {
        text += Self.pieces[Int((state >> (UInt64(step % 8) * 7)) % UInt64(Self.pieces.count))]
      }
      for prefix in Self.prefixes {
        let expected = Self.replacedPassByPass(text, prefix: prefix)
        if let fast = CommandContext.prefixingSuggestedCommands(in: text, with: prefix) {
          #expect(fast == expected, "\(text.debugDescription) with \(prefix)")
          rewritten += 1
        } else {
          declined += 1
        }
      }
    }
    // Both ways are taken: the comparison above is not vacuous, nor is the fallback.
    #expect(rewritten > 1000)
    #expect(declined > 100)
  }

  @Test func aPrefixThatNamesACommandIsLeftToReplacing() {
    #expect(CommandContext.prefixingSuggestedCommands(in: "hiodctl list", with: "hiodctl --host /hiodctl host") == nil)
    #expect(CommandContext.prefixingSuggestedCommands(in: "hiodctl list\u{301}", with: "hiodctl --sysroot /t") == nil)
    #expect(
      CommandContext.prefixingSuggestedCommands(in: "see hiodctl caps 01:00.0", with: "hiodctl --sysroot /t")
        == "see hiodctl --sysroot /t caps 01:00.0")
  }
}
