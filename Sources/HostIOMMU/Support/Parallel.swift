// hiodctl — a scan's independent reads spread over the machine's processors.
// SPDX-License-Identifier: GPL-2.0-or-later

import Dispatch
import Glibc  // getenv

/// Splits a list of independent pieces of work (one per device, one per group) into
/// contiguous chunks, one per thread, and puts the results back in the list's order, so
/// that output and warnings come out exactly as a single thread would give them.
///
/// Most of a scan's time is the kernel resolving sysfs paths (openat, readlinkat,
/// getdents64), and those calls scale with cores: lspci makes them one at a time.
package enum Parallel {
  /// How many threads a scan uses: every processor this process may use.
  package static let threads: Int = forcedChunks ?? min(Syscall.usableProcessors(), 256)

  /// `HIODCTL_SCAN_THREADS` (1–256), for tests: split every list into exactly that many
  /// chunks (or one per item), however short, so that the small fixtures run through
  /// the threaded path and can be compared with one thread.
  private static let forcedChunks: Int? = {
    guard let text = getenv("HIODCTL_SCAN_THREADS").map({ String(cString: $0) }), let count = Int(text),
      (1...256).contains(count)
    else { return nil }
    return count
  }()

  /// `transform` applied to contiguous chunks of `items`, concatenated in order. Each
  /// chunk holds at least `minimumChunk` items (below that, a thread costs more than it
  /// saves), so small hosts and most fixtures run on the calling thread alone.
  ///
  /// `transform` must only read shared state; whatever it needs to write (a libpci
  /// handle, an open directory) it makes for itself, once per chunk.
  package static func map<Element: Sendable, Output: Sendable>(
    _ items: [Element], minimumChunk: Int, _ transform: @Sendable (ArraySlice<Element>) -> [Output]
  ) -> [Output] {
    let smallest = forcedChunks == nil ? max(minimumChunk, 1) : 1
    let chunks = max(1, min(threads, items.count / smallest))
    if chunks == 1 { return transform(items[...]) }
    var outputs = [[Output]](repeating: [], count: chunks)
    outputs.withUnsafeMutableBufferPointer { slots in
      // Each iteration writes its own slot and nothing else, and concurrentPerform
      // returns only after every iteration has ended.
      let base = UncheckedSendable(slots.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        let lower = items.count * chunk / chunks
        let upper = items.count * (chunk + 1) / chunks
        (base.value + chunk).pointee = transform(items[lower..<upper])
      }
    }
    return Array(outputs.joined())
  }

  /// `transform` of each item, the items handed out one at a time to whichever thread is
  /// free, the results in item order: for a few pieces of work of very different sizes
  /// (export's model suggesters: intel's checks every device three times, amd's once),
  /// which contiguous chunks would pair unevenly.
  package static func mapEach<Element: Sendable, Output: Sendable>(
    _ items: [Element], _ transform: @Sendable (Element) -> Output
  ) -> [Output] {
    guard threads > 1, items.count > 1 else { return items.map(transform) }
    // HIODCTL_SCAN_THREADS promises exactly that many parts: contiguous chunks, then.
    if forcedChunks != nil { return map(items, minimumChunk: 1) { $0.map(transform) } }
    var outputs = [Output?](repeating: nil, count: items.count)
    outputs.withUnsafeMutableBufferPointer { slots in
      // Each iteration writes its own slot and nothing else, and concurrentPerform
      // returns only after every iteration has ended.
      let base = UncheckedSendable(slots.baseAddress!)
      DispatchQueue.concurrentPerform(iterations: items.count) { index in
        (base.value + index).pointee = transform(items[index])
      }
    }
    return outputs.map { $0! }
  }

  /// `transform` of each item, which may add warnings: the results in item order, and
  /// the warnings appended to `warnings` in item order, as one thread would add them.
  package static func map<Element: Sendable, Output: Sendable>(
    _ items: [Element], minimumChunk: Int, warnings: inout [String],
    _ transform: @Sendable (Element, inout [String]) -> Output
  ) -> [Output] {
    let results = map(items, minimumChunk: minimumChunk) { chunk in
      chunk.map { item in
        var own: [String] = []
        let output = transform(item, &own)
        return (output, own)
      }
    }
    for (_, own) in results { warnings += own }
    return results.map(\.0)
  }
}

/// A value handed to other threads under a rule the compiler cannot check (stated where
/// it is used).
struct UncheckedSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
