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
import { cpSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
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

await build({
  entryPoints: { pqpsk: join(root, 'src/cli/main.ts') },
  outdir,
  chunkNames: 'pqpsk-[hash]',
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: "import { createRequire as pqpskCreateRequire } from 'node:module';\nconst require = pqpskCreateRequire(import.meta.url);" },
  plugins: [keepModuleAddresses],
  logLevel: 'warning',
});

const yargsRoot = dirname(createRequire(import.meta.url).resolve('yargs/package.json'));
cpSync(join(yargsRoot, 'locales'), join(root, 'dist/locales'), { recursive: true });
