// Answers that arrive after the page has moved on must not be drawn. A Latest is one line of
// requests: next() starts a new generation and aborts what the one before still waits for; run()
// gives a task the current generation's AbortSignal and passes its outcome on only while that
// generation is still the newest. It is the pages' only check for stale answers.

export class Latest {
  #controller = new AbortController();

  next() {
    this.#controller.abort();
    this.#controller = new AbortController();
  }

  // task(signal) -> promise; then onValue(value) or onError(error), unless a newer generation began.
  // A task of several steps calls signal.throwIfAborted() between them.
  async run(task, onValue, onError) {
    const { signal } = this.#controller;
    let value;
    try {
      value = await task(signal);
    } catch (err) {
      if (signal.aborted) return;
      if (!onError) throw err;
      onError(err);
      return;
    }
    if (!signal.aborted) onValue?.(value);
  }
}

// Resolves after `ms`, or rejects as soon as `signal` aborts.
export function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
