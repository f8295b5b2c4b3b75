/**
 * Gate for end-to-end tests that need a real bed. Without root or the tools they skip
 * with one line saying why — unless CI=true, where they run and fail loudly.
 */
import { bedPrerequisites } from '../../src/testbed/index.js';

/** The `skip` option for an e2e test: false (run) or the one-line reason. */
export function e2eSkip(): string | false {
  const p = bedPrerequisites();
  if (p.ok || process.env.CI === 'true') return false;
  return `real WireGuard bed unavailable: ${p.reason} (CI=true makes this a failure)`;
}

/** First line of every e2e test: under CI=true a missing prerequisite is a failure that says why. */
export function requireBed(): void {
  const p = bedPrerequisites();
  if (!p.ok) throw new Error(`CI=true, but the real WireGuard bed cannot run here: ${p.reason}`);
}
