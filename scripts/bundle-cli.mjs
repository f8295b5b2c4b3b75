// Second build step, after `tsc`: bundle the command line into dist/src/cli/pqpsk.js
// (package.json `bin`), so `pqpsk` starts without loading a few hundred modules one by
// one. Each command's modules stay behind their `await import()` as chunks of their own
// beside it (pqpsk-*.js), so a command still loads only what it uses. The tsc output
// (dist/src/cli/main.js and the rest) stays as it is: the tests import it.
//
// A bundled module keeps the address it has unbundled: in the project's own files,
// `import.meta.url` is rewritten to the URL of that file's tsc output, so every path
// found relative to it (the .proto file, WebAssembly binaries, the HQC pool's worker
// script, package.json) is the same file as without the bundle. Packages keep theirs
// (the bundle's): yargs finds its translations three folders up, in dist/locales, where
// they are copied. `require` is given to the bundle for the packages that look modules
// up at run time.
//
// yargs measures every line of help text with `string-width`, and renders a command's
// help before running it. Each copy of `string-width` in the bundle is wrapped so that
// printable ASCII (0x20-0x7E) is measured as its length — the rule string-width 8
// applies itself as its own fast path; an older copy reaches the same answer one
// grapheme at a time — and the package itself is loaded only for other text. Its
// module set-up (a Unicode segmenter, emoji regular expressions) is then never paid for
// pqpsk's help. The help's few typographic characters (NARROW below: dashes, ±, ×, →,
// ≥…) count as one column each too; the build checks that each copy agrees.
//
// The bundle is written without its whitespace and comments: V8 reads every byte of a
// chunk before it runs any of it, and gRPC's chunk, which every `pqpsk negotiate` loads,
// then costs about a fifth less (measured in docs/performance.md). Names stay as they are
// (no renaming), so a stack trace still names the functions, at column offsets.
//
// yargs also renders the help of a command it is about to run and keeps it, for a program
// that asks for that help later (showHelp/getHelp after parsing, or a failure message with
// help). pqpsk never does: its failures print one line of their own (main.ts `.fail`),
// and `--help` is answered before any handler runs, without that copy. So the bundle
// leaves that call out of yargs' command runner — help text, wrapped to the terminal,
// rendered on every run of `pqpsk negotiate` for nothing. The build fails if yargs no
// longer has the call as written here.
//
// The bundle's first line starts node with the heap settings of src/launch.ts
// (compiled by the `tsc` step before this one), so `pqpsk` runs as it was measured.
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');

/** import.meta.url of a project source file → the URL of its compiled file under dist/. */
const keepModuleAddresses = {
  name: 'keep-module-addresses',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const fromRoot = relative(root, args.path);
      if (fromRoot.startsWith('..') || fromRoot.split(sep).includes('node_modules') || !source.includes('import.meta.url')) return undefined;
      const compiled = relative(outdir, join(root, 'dist', fromRoot.replace(/\.ts$/, '.js'))).split(sep).join('/');
      const contents = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(compiled)}, import.meta.url).href`);
      return { contents, loader: 'ts' };
    });
  },
};

/** Characters outside ASCII that pqpsk's help uses, each one column wide to every `string-width`. */
const NARROW = '±×—–…→←≥≤‘’“”·•';

/** Refuses to build when a copy of `string-width` measures a NARROW character otherwise. */
async function checkNarrow(path) {
  const { default: width } = await import(pathToFileURL(path).href);
  for (const c of NARROW) if (width(c) !== 1) throw new Error(`${path}: measures ${JSON.stringify(c)} as ${width(c)} columns; remove it from NARROW`);
}

/** `string-width` imports → a wrapper with the printable-ASCII (+ NARROW) rule, loading the package lazily. */
const asciiStringWidth = {
  name: 'ascii-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData === 'real') return undefined;
      const real = await b.resolve(args.path, { importer: args.importer, resolveDir: args.resolveDir, kind: args.kind, pluginData: 'real' });
      if (real.errors.length > 0) return { errors: real.errors };
      await checkNarrow(real.path);
      return { path: real.path, namespace: 'ascii-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ascii-string-width' }, (args) => ({
      contents: [
        'let real;',
        // NARROW only with default options: `ambiguousIsNarrow: false` widens some of them.
        'export default function stringWidth(input, options) {',
        `  if (typeof input === "string" && (options === undefined ? /^[\\u0020-\\u007E${NARROW}]*$/u : /^[\\u0020-\\u007E]*$/).test(input)) return input.length;`,
        `  real ??= require(${JSON.stringify(args.path)}).default;`,
        '  return real(input, options);',
        '}',
      ].join('\n'),
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

/** The call in yargs' command runner that renders and keeps the running command's help. */
const CACHE_HELP_CALL = 'yargs.getInternalMethods().getUsageInstance().cacheHelpMessage();';

/** yargs' build/lib/command.js without CACHE_HELP_CALL (see above); refuses to build when it is not there once. */
const noHelpBeforeHandler = {
  name: 'no-help-before-handler',
  setup(b) {
    b.onLoad({ filter: /[\\/]yargs[\\/]build[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const uses = source.split(CACHE_HELP_CALL).length - 1;
      if (uses !== 1) throw new Error(`${args.path}: expected the help-caching call once, found it ${uses} times; update scripts/bundle-cli.mjs`);
      return { contents: source.replace(CACHE_HELP_CALL, ''), loader: 'js' };
    });
  },
};

// Chunks of an earlier build would linger beside the new ones (their names are hashes).
for (const name of readdirSync(outdir)) if (/^pqpsk(-[A-Z0-9]+)?\.js$/.test(name)) rmSync(join(outdir, name));

await build({
  entryPoints: { pqpsk: join(root, 'src/cli/main.ts') },
  outdir,
  chunkNames: 'pqpsk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  banner: { js: "import { createRequire as pqpskCreateRequire } from 'node:module';\nconst require = pqpskCreateRequire(import.meta.url);" },
  plugins: [keepModuleAddresses, asciiStringWidth, noHelpBeforeHandler],
  logLevel: 'warning',
});

const { launcherLine } = await import(pathToFileURL(join(root, 'dist/src/launch.js')).href);
const entry = join(outdir, 'pqpsk.js');
const bundled = readFileSync(entry, 'utf8');
if (!bundled.startsWith('#!')) throw new Error(`${entry}: expected the entry's #! line first`);
writeFileSync(entry, `${launcherLine()}${bundled.slice(bundled.indexOf('\n'))}`);

const yargsRoot = dirname(createRequire(import.meta.url).resolve('yargs/package.json'));
cpSync(join(yargsRoot, 'locales'), join(root, 'dist/locales'), { recursive: true });
