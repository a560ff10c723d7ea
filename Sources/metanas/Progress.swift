#if canImport(Glibc)
import Glibc
#endif
import Engine

/// A one-line progress bar with rate and ETA on standard error; on a non-terminal (CI logs)
/// it prints a line every tenth of the work instead of redrawing.
final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let label: String
    private let start = monotonicSeconds()
    private let interactive = isatty(2) != 0
    private var lastDecile = -1
    private let lock = NSLockLite()
    private let enabled: Bool

    /// - Parameter enabled: false draws nothing (MPI ranks other than 0).
    init(total: Int, label: String, enabled: Bool = true) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
    }

    func update(_ done: Int, extra: String = "") {
        guard enabled else { return }
        lock.withLock {
            let elapsed = monotonicSeconds() - start
            let rate = done > 0 ? elapsed / Double(done) : 0
            let eta = rate * Double(total - done)
            let width = 24
            let filled = min(width, done * width / total)
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = "\(label) [\(bar)] \(done)/\(total)  \(fmt(rate, 2)) s/it  ETA \(clock(eta))  \(extra)"
            if interactive {
                printError("\r\u{1B}[K" + line, newline: done >= total)
            } else {
                let decile = done * 10 / total
                if decile != lastDecile || done == total {
                    lastDecile = decile
                    printError(line)
                }
            }
        }
    }

    private func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let (h, m, r) = (s / 3600, (s % 3600) / 60, s % 60)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(r))" : "\(two(m)):\(two(r))"
    }
}

/// A small mutex (pthread) for the progress bar.
final class NSLockLite: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
