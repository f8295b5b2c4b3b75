/**
 * A FIFO lock: the relay's book and its `wg set`s change one at a time per interface, so a
 * registration and a watcher pass never interleave their read-decide-write steps.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** Runs `task` after every task queued before it has settled; a failure does not block the queue. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.#pending++;
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => this.#done(),
      () => this.#done(),
    );
    return result;
  }

  /** Tasks queued or running. */
  get pending(): number {
    return this.#pending;
  }

  /** Resolves once everything queued so far has settled. */
  async idle(): Promise<void> {
    await this.#tail;
  }

  #done(): void {
    this.#pending--;
  }
}
