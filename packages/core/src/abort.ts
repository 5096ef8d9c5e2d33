/**
 * Abort listeners that cost a signal one listener, however many waits use it.
 *
 * A signal is often shared: one shutdown signal for every consumer of a worker pool. A
 * listener per waiting pop would put dozens on it, and Node warns from the eleventh on
 * ("MaxListenersExceededWarning: Possible EventTarget memory leak detected"): a false
 * alarm in the caller's logs, for waits that do remove their listeners. So each signal
 * gets one listener of ours, which calls the callbacks registered for it; it is removed
 * when the last of them is.
 */
interface Fanout {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

/** Weak: a signal nobody holds any more takes its entry with it. */
const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Calls `callback` once, when `signal` aborts: in a microtask if it has aborted already
 * (its event never comes again). Returns the function that takes it back (call it when
 * the wait ends; calling it again does nothing).
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  if (signal.aborted) {
    let live = true;
    queueMicrotask(() => {
      if (live) callback();
    });
    return () => {
      live = false;
    };
  }
  let fanout = fanouts.get(signal);
  if (fanout === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      fanouts.delete(signal);
      for (const call of [...callbacks]) call();
      callbacks.clear();
    };
    fanout = { callbacks, listener };
    fanouts.set(signal, fanout);
    signal.addEventListener("abort", listener, { once: true });
  }
  // A wrapper of its own: the same function registered twice is taken back twice.
  const entry = () => callback();
  const { callbacks, listener } = fanout;
  callbacks.add(entry);
  return () => {
    if (!callbacks.delete(entry) || callbacks.size > 0) return;
    if (fanouts.get(signal)?.callbacks === callbacks) fanouts.delete(signal);
    signal.removeEventListener("abort", listener);
  };
}
