// hiodctl tests — the byte-wise replace against the standard library's, its oracle.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU
import Testing

struct StringReplacingTests {
  /// What the suggester does to a refusal: QEMU's prefix dropped, the address generalised.
  @Test func aRefusalReadsTheSameForEveryDevice() {
    let message = "vfio 0000:01:00.0: Failed to set vIOMMU: aw-bits 48 > host aw-bits 39 (0000:01:00.0)"
    let reason = message.replacingEvery("vfio 0000:01:00.0: ", with: "")
      .replacingEvery("0000:01:00.0", with: "the device")
    #expect(reason == "Failed to set vIOMMU: aw-bits 48 > host aw-bits 39 (the device)")
  }

  /// Random texts over an alphabet that makes overlaps, repeats, multi-byte Characters,
  /// combining marks and "\r\n" likely: every answer must be the standard library's.
  @Test func agreesWithTheStandardLibrary() {
    let alphabet = ["a", "b", "ab", "aa", "\r", "\n", "\r\n", "é", "e\u{301}", "\u{301}", "0", ":", " "]
    var generator = SplitMix64(seed: 0x6869_6f64)
    func text(_ length: Int) -> String {
      (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }.joined()
    }
    for _ in 0..<20000 {
      let haystack = text(Int(generator.next() % 12))
      let target = text(1 + Int(generator.next() % 3))
      let replacement = text(Int(generator.next() % 3))
      // Bytes, not String's ==, which holds canonically equivalent texts equal.
      #expect(
        Array(haystack.replacingEvery(target, with: replacement).utf8)
          == Array(haystack.replacing(target, with: replacement).utf8),
        "\(Array(haystack.unicodeScalars)) / \(Array(target.unicodeScalars)) / \(Array(replacement.unicodeScalars))")
    }
  }

  @Test func anEmptyTargetIsTheStandardLibrarysCase() {
    #expect("abc".replacingEvery("", with: "-") == "abc".replacing("", with: "-"))
  }
}
