// hiodctl tests — a boxed value type keeps value semantics: a copy written is a copy apart.
// SPDX-License-Identifier: GPL-2.0-or-later

import HostIOMMU
import Testing

struct CopyOnWriteTests {
  @Test func aWrittenCopyLeavesTheOriginalAlone() {
    let original = Finding(
      check: "intel.aw-bits", status: .pass, message: "aw-bits 39 ≤ host aw-bits 39", qemuVersions: "9.1 and later")
    var copy = original
    #expect(copy == original && copy.hashValue == original.hashValue)
    copy.evidence.append("host aw_bits 39")
    copy.status = .fail
    #expect(original.evidence.isEmpty && original.status == .pass)
    #expect(copy.evidence == ["host aw_bits 39"] && copy.status == .fail)
    #expect(copy != original)
    // Equal fields in different boxes are equal, and hash alike.
    copy.evidence.removeAll()
    copy.status = .pass
    #expect(copy == original && copy.hashValue == original.hashValue)
    #expect(Set([copy, original]).count == 1)
  }
}
