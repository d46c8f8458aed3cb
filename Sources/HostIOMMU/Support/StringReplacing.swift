// hiodctl — replacing every occurrence of a string, byte by byte where that is exact.
// SPDX-License-Identifier: GPL-2.0-or-later

extension String {
  /// What `replacing(target, with: replacement)` gives: every non-overlapping occurrence
  /// of `target`, left to right, replaced.
  ///
  /// The standard library's version compares Characters through a generic collection
  /// search; on `export` over 4096 functions it was 9% of the instructions, for messages
  /// that are a line of ASCII. When the text and the target are ASCII without a carriage
  /// return, every byte is a whole Character ("\r\n" is the one ASCII pair that forms a
  /// single Character), so comparing bytes finds exactly the same occurrences. Anything
  /// else goes to the standard library.
  package func replacingEvery(_ target: String, with replacement: String) -> String {
    guard !target.isEmpty, Self.isPlainASCII(target), Self.isPlainASCII(self) else {
      return replacing(target, with: replacement)
    }
    let text = Array(utf8)
    let pattern = Array(target.utf8)
    guard text.count >= pattern.count else { return self }
    var result: [UInt8] = []
    var copiedUpTo = 0
    var index = 0
    let last = text.count - pattern.count
    while index <= last {
      if text[index] == pattern[0], text[index..<(index + pattern.count)].elementsEqual(pattern) {
        if result.isEmpty { result.reserveCapacity(text.count) }
        result += text[copiedUpTo..<index]
        result += replacement.utf8
        index += pattern.count
        copiedUpTo = index
      } else {
        index += 1
      }
    }
    if copiedUpTo == 0 { return self }
    result += text[copiedUpTo...]
    return String(decoding: result, as: UTF8.self)
  }

  private static func isPlainASCII(_ text: String) -> Bool {
    text.utf8.allSatisfy { $0 < 0x80 && $0 != 0x0D }
  }
}
