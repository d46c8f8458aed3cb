// hiodctl — a value shared between a scan's threads, behind a pthread mutex.
// SPDX-License-Identifier: GPL-2.0-or-later

import Glibc  // pthread_mutex_t

/// A value read and written by several threads, each access under one pthread mutex.
///
/// Not the standard library's `Synchronization.Mutex`: on Linux that locks with atomics
/// and raw futex calls inside a module built without ThreadSanitizer, so TSan sees two
/// threads inside the same critical section as a data race (scripts/tsan reported every
/// snapshot's register cache). TSan intercepts `pthread_mutex_lock`, so under this lock
/// a report is a real race.
package final class PThreadLocked<Value>: @unchecked Sendable {
  // @unchecked: every access to `value` is between lock and unlock of `mutex`.
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private var value: Value

  package init(_ value: Value) {
    self.value = value
    // A pthread mutex must not move once used, so it lives in memory of its own.
    mutex = .allocate(capacity: 1)
    mutex.initialize(to: pthread_mutex_t())
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deinitialize(count: 1)
    mutex.deallocate()
  }

  /// `body`'s result, with the value all to itself while it runs.
  package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }
}
