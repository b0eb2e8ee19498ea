// A request's deadline, combined with the signals that may stop it sooner. Not
// `AbortSignal.any([...signals, AbortSignal.timeout(ms)])`: on Node 20 both the timeout's timer and
// `any` hold the timeout signal only weakly, so a garbage collection during the wait drops it and the
// combined signal never fires: a request to a peer that never answers then hangs for good, and with
// it the chat's delivery queue (test/integration/deadline.test.ts). Here the timer holds its
// controller until it fires.

/** Aborts when any of `signals` does, or after `ms` with a TimeoutError (as AbortSignal.timeout does). */
export function deadline(ms: number, ...signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')),
    ms,
  );
  timer.unref(); // like AbortSignal.timeout: a pending deadline alone does not keep the process alive
  return signals.length === 0 ? controller.signal : AbortSignal.any([controller.signal, ...signals]);
}
