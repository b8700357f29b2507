import Dispatch
import Glibc
import Synchronization

/// SIGINT and SIGTERM, caught from its creation until ``cancel()``: each arrival calls the handler
/// of the moment (set by ``onSignal(_:)`` or ``next()``); one that arrives while there is none
/// waits for the next handler, so no signal is lost.
final class SignalWatcher: Sendable {
    private struct Waiting {
        var handler: (@Sendable (String) -> Void)?
        var pending: [String] = []
    }
    private let waiting = Mutex(Waiting())
    /// Dispatch's sources are not Sendable; only this type touches them, under the lock.
    private let sources: Mutex<[any DispatchSourceSignal]>

    init() {
        var made: [any DispatchSourceSignal] = []
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            made.append(DispatchSource.makeSignalSource(signal: number, queue: .global()))
        }
        sources = Mutex(made)
        sources.withLock { sources in
            for (source, name) in zip(sources, ["SIGINT", "SIGTERM"]) {
                source.setEventHandler { [weak self] in self?.arrived(name) }
                source.resume()
            }
        }
    }

    private func arrived(_ name: String) {
        let h = waiting.withLock { w -> (@Sendable (String) -> Void)? in
            if w.handler == nil { w.pending.append(name) }
            return w.handler
        }
        h?(name)
    }

    /// Calls `h` for every signal from now on, and at once for any that arrived with no handler.
    func onSignal(_ h: @escaping @Sendable (String) -> Void) {
        let arrived = waiting.withLock { w -> [String] in
            w.handler = h
            defer { w.pending.removeAll() }
            return w.pending
        }
        arrived.forEach(h)
    }

    /// Waits for the next signal (or takes one that arrived with no handler); returns its name.
    func next() async -> String {
        if let arrived = waiting.withLock({ w in w.pending.isEmpty ? nil : w.pending.removeFirst() }) { return arrived }
        return await withCheckedContinuation { (c: CheckedContinuation<String, Never>) in
            let first = FirstOf(c)
            // The first signal resumes the wait; any after it wait for the next handler.
            onSignal { [weak self] name in if !first.take(name) { self?.putBack(name) } }
        }
    }

    /// Keeps a signal that its handler could not use for the next handler.
    func putBack(_ name: String) {
        waiting.withLock { $0.pending.append(name) }
    }

    func cancel() {
        waiting.withLock { $0.handler = nil }
        sources.withLock { $0.forEach { $0.cancel() } }
    }
}
