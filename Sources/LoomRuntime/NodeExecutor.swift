import Dispatch

/// The executor of one node: a serial dispatch queue of its own.
///
/// Lua runs synchronously for up to its deadline. On the shared cooperative pool (two threads on a
/// two-core machine) two busy nodes would stall every other task of the process; on its own queue a
/// node only ever holds a dispatch worker thread, and the cooperative pool stays free.
final class NodeExecutor: SerialExecutor, Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
