/**
 * The file-system view a shipped systemd unit gives its process, rebuilt by hand in a
 * mount namespace (`unshare -m`), so a test can run pqpsk inside it without systemd as
 * PID 1. Emulated: `ProtectSystem=strict` (every mount read-only but /proc, /sys, /dev),
 * `ReadWritePaths=`, `RuntimeDirectory=` (made 0700, writable, and passed in
 * $RUNTIME_DIRECTORY as systemd does), `StateDirectory=`, `PrivateTmp=` and `ProtectHome=`;
 * and for the process itself `CapabilityBoundingSet=` and `NoNewPrivileges=` (setpriv),
 * `LimitCORE=` (prlimit) and `UMask=`.
 *
 * An installed pqpsk lives under /usr, which the unit leaves readable; the one under test
 * lives in this repository, which may sit under /tmp or /home (a CI clone, a developer's
 * checkout) that the unit hides. So the repository is carried into the view, read-only,
 * at its own path: everything else about the view stays as the unit says.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The directives of a unit's [Service] section that shape what its process may write. */
export interface UnitView {
  readonly protectSystemStrict: boolean;
  readonly readWritePaths: readonly string[];
  readonly runtimeDirectories: readonly string[];
  /** `StateDirectory=` under /var/lib: made 0700 and writable, like the runtime ones. */
  readonly stateDirectories: readonly string[];
  readonly privateTmp: boolean;
  readonly protectHome: boolean;
  /** `CapabilityBoundingSet=` in setpriv's spelling (`net_admin`), or null for all. */
  readonly capabilityBoundingSet: readonly string[] | null;
  readonly noNewPrivileges: boolean;
  /** `LimitCORE=` as prlimit takes it, or null for the inherited limit. */
  readonly limitCore: string | null;
  /** `UMask=` (octal text), or null for the inherited umask. */
  readonly umask: string | null;
}

/** The repository root (dist/test/e2e → three folders up): the code the view must still reach. */
const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** A shipped unit's text, by file name under examples/systemd/. */
export function shippedUnit(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../../examples/systemd/${name}`, import.meta.url)), 'utf8');
}

/** The view `unitText` describes for instance `instance` (only the `%i` specifier is expanded). */
export function unitView(unitText: string, instance: string): UnitView {
  const values = (key: string): string[] =>
    unitText
      .split('\n')
      .filter((line) => line.startsWith(`${key}=`))
      .flatMap((line) => line.slice(key.length + 1).replaceAll('%i', instance).split(/\s+/))
      .filter((v) => v !== '');
  const yes = (key: string): boolean => values(key).some((v) => v === 'yes' || v === 'true' || v === 'strict');
  return {
    protectSystemStrict: values('ProtectSystem').includes('strict'),
    readWritePaths: values('ReadWritePaths'),
    runtimeDirectories: values('RuntimeDirectory').map((d) => `/run/${d}`),
    stateDirectories: values('StateDirectory').map((d) => `/var/lib/${d}`),
    privateTmp: yes('PrivateTmp'),
    protectHome: yes('ProtectHome'),
    capabilityBoundingSet: unitText.includes('\nCapabilityBoundingSet=')
      ? values('CapabilityBoundingSet').map((c) => c.replace(/^CAP_/, '').toLowerCase())
      : null,
    noNewPrivileges: yes('NoNewPrivileges'),
    limitCore: values('LimitCORE')[0] ?? null,
    umask: values('UMask')[0] ?? null,
  };
}

/**
 * argv that runs `command` inside the view. The script checks its own work — /run must
 * refuse a write after the view is built — and exits 99 if it does not, so a test can
 * never pass on an emulation that failed to apply. Runtime and state directories are
 * made (0700) on the real file system; the caller removes those it did not have before.
 */
export function inView(view: UnitView, command: readonly string[]): string[] {
  const made = [...view.runtimeDirectories, ...view.stateDirectories];
  const writable = [...view.readWritePaths, ...made];
  const q = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
  const lines = ['set -e'];
  const hidden = [...(view.privateTmp ? ['/tmp', '/var/tmp'] : []), ...(view.protectHome ? ['/home', '/root'] : [])];
  const carry = hidden.some((root) => REPOSITORY.startsWith(`${root}/`));
  // Held at a stage in /dev/shm (left writable, as /dev is) while /tmp or /home is replaced.
  // -n: /run (util-linux's mount table) is read-only by the time the stage moves.
  if (carry) {
    lines.push(
      'stage=$(mktemp -d /dev/shm/pqpsk-unit-view-XXXXXX)',
      `trap 'umount -n "$stage" 2>/dev/null; rmdir "$stage" 2>/dev/null' EXIT`,
      `mount -n --bind ${q(REPOSITORY)} "$stage"`,
      `mount -n -o remount,bind,ro "$stage"`,
    );
  }
  for (const dir of made) lines.push(`mkdir -p -m 0700 ${q(dir)}`);
  for (const path of writable) lines.push(`mount --bind ${q(path)} ${q(path)}`);
  if (view.protectSystemStrict) {
    const keep = ['/proc', '/sys', '/dev', ...writable].map((p) => `${q(p)}|${q(p)}/*`).join('|');
    lines.push(
      `for m in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do`,
      `  case "$m" in ${keep}|/run/netns/*) continue ;; esac`,
      `  mount -o remount,bind,ro "$m" 2>/dev/null || echo "unit view: could not make $m read-only" >&2`,
      'done',
    );
    for (const path of writable) lines.push(`mount -o remount,bind,rw ${q(path)}`);
  }
  if (view.privateTmp) lines.push('mount -t tmpfs -o mode=1777 tmpfs /tmp', 'mount -t tmpfs -o mode=1777 tmpfs /var/tmp');
  if (view.protectHome) for (const home of ['/home', '/root']) lines.push(`[ ! -d ${home} ] || mount -t tmpfs -o mode=0755 tmpfs ${home}`);
  if (carry) lines.push(`mkdir -p ${q(REPOSITORY)}`, `mount -n --move "$stage" ${q(REPOSITORY)}`, 'rmdir "$stage"');
  if (view.protectHome) for (const home of ['/home', '/root']) lines.push(`[ ! -d ${home} ] || mount -n -o remount,ro ${home}`);
  if (view.protectSystemStrict) lines.push(`if touch /run/.pqpsk-unit-view-probe 2>/dev/null; then rm -f /run/.pqpsk-unit-view-probe; echo 'unit view: /run is still writable' >&2; exit 99; fi`);
  if (view.runtimeDirectories[0] !== undefined) lines.push(`export RUNTIME_DIRECTORY=${q(view.runtimeDirectories.join(':'))}`);
  if (view.umask !== null) lines.push(`umask ${q(view.umask)}`);
  // Each wrapper execs the next, so the pid the caller started ends up as the command's own.
  const setpriv = [
    ...(view.capabilityBoundingSet === null ? [] : [`--bounding-set=-all${view.capabilityBoundingSet.map((c) => `,+${c}`).join('')}`]),
    ...(view.noNewPrivileges ? ['--no-new-privs'] : []),
  ];
  const wrappers = [
    ...(view.limitCore === null ? [] : ['prlimit', `--core=${view.limitCore}`, '--']),
    ...(setpriv.length === 0 ? [] : ['setpriv', ...setpriv, '--']),
  ];
  lines.push(`exec ${[...wrappers, ...command].map(q).join(' ')}`);
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', lines.join('\n')];
}
