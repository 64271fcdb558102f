/**
 * The timer queue of the simulations' virtual clocks (`bench/sim/des.ts`, and the SWIM core's test
 * simulator `test/membership/swim-sim.ts`): a binary min-heap of timers ordered by due time, then
 * by the order they were scheduled in, so that a run repeats exactly.
 *
 * @module
 */

/** A timer as the heap orders it: due at `at` (virtual seconds), `seq` breaking ties. */
export interface HeapTimer {
  at: number;
  seq: number;
}

const before = (a: HeapTimer, b: HeapTimer): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** A min-heap of timers: `peek` the next due, `pop` it, `push` a new one; O(log n) each. */
export class TimerHeap<T extends HeapTimer> {
  private readonly heap: T[] = [];

  /** Timers held. */
  get size(): number {
    return this.heap.length;
  }

  /** The next timer due, or undefined when none is held. */
  peek(): T | undefined {
    return this.heap[0];
  }

  push(timer: T): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** Take the next timer due out of the heap (undefined when none is held). */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
