/**
 * A large book planned in slices of families, so the relay can let requests in between:
 * cutting the book, joining the slices' plans, and telling that a tick changed nothing.
 */
import { PqpskError } from '../errors.js';
import { sameList } from './peer-index.js';
import type { EphemeralRecord, ParentRecord, Plan, RelayBook } from './relay-book.js';

/**
 * The book cut into books of at most `size` parents, each with its parents' ephemerals.
 * planTick plans each family on its own (it reads the interface, never another family),
 * so the slices' plans joined by `joinPlans` equal the whole book's plan; an ephemeral
 * whose parent has no record is in no slice, as planTick drops it too. The relay plans
 * a large book slice by slice and lets requests in between.
 */
export function familySlices(book: RelayBook, size: number): RelayBook[] {
  if (!Number.isInteger(size) || size < 1) throw new PqpskError('INVALID_INPUT', `slice size: expected a whole number ≥ 1, got ${String(size)}`);
  if (book.parents.length <= size) return [book];
  // One walk of the ephemerals for all slices: a parent recorded twice may sit in two.
  const slicesOf = new Map<string, number[]>();
  const parents: (readonly ParentRecord[])[] = [];
  for (let from = 0; from < book.parents.length; from += size) {
    const slice = parents.length;
    parents.push(book.parents.slice(from, from + size));
    for (const p of parents[slice]!) {
      const of = slicesOf.get(p.parent);
      if (of === undefined) slicesOf.set(p.parent, [slice]);
      else if (of[of.length - 1] !== slice) of.push(slice);
    }
  }
  const ephemerals: EphemeralRecord[][] = parents.map(() => []);
  for (const e of book.ephemerals) for (const slice of slicesOf.get(e.parent) ?? []) ephemerals[slice]!.push(e);
  return parents.map((p, slice) => ({ parents: p, ephemerals: ephemerals[slice]! }));
}

/** The plans of `familySlices`' books, in order, as one plan. */
export function joinPlans(plans: readonly Plan[]): Plan {
  if (plans.length === 1) return plans[0]!;
  return {
    book: { parents: plans.flatMap((p) => p.book.parents), ephemerals: plans.flatMap((p) => p.book.ephemerals) },
    changes: plans.flatMap((p) => p.changes),
    events: plans.flatMap((p) => p.events),
    ties: plans.flatMap((p) => p.ties ?? []),
  };
}

/** Whether a tick changed nothing worth storing: the same records, as keys and parents' addresses (linear, no serialisation). */
export function sameBook(a: RelayBook, b: RelayBook): boolean {
  if (a.parents.length !== b.parents.length || a.ephemerals.length !== b.ephemerals.length) return false;
  const ephemerals = new Set(a.ephemerals.map((e) => e.ephemeral));
  if (!b.ephemerals.every((e) => ephemerals.has(e.ephemeral))) return false;
  const parents = new Map(a.parents.map((p) => [p.parent, p.allowedIps]));
  return b.parents.every((p) => {
    const ips = parents.get(p.parent);
    return ips !== undefined && sameList(ips, p.allowedIps);
  });
}

/**
 * Whether one slice's plan changes nothing: no change, no event, and its slice's book as
 * `sameBook` judges it. When every slice of `familySlices(book)` is unchanged and the slices
 * hold the book's ephemerals exactly once between them, the joined plan is unchanged for the
 * whole book: every record is kept, so a parent in two slices would count its
 * ephemerals twice, and within a slice the judgement is the whole one's.
 */
export function slicePlanUnchanged(slice: RelayBook, plan: Plan): boolean {
  return plan.changes.length === 0 && plan.events.length === 0 && sameBook(slice, plan.book);
}
