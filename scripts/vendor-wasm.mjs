// Last build step: copy the WebAssembly builds pqpsk runs from two packages into
// dist/vendor/, so that the installed package needs neither package — and npm never runs
// their install scripts, which compile native addons (minutes, a C++ toolchain, compiler
// warnings) that pqpsk does not use.
//
// - pqclean: only its WebAssembly module (wasm/gen/pqclean.wasm), which wasm/pqclean.ts
//   loads with its own code for the reference HQC-256 engine.
// - mceliece-nist: its WebAssembly build as a whole (wasm/: the module, its loader and the
//   worker script the loader starts for each call), for the client's Classic McEliece key
//   generation and decapsulation (src/client/mceliece.ts). Its loader is CommonJS, so the
//   package's own package.json goes beside it: this package is "type": "module".
//
// Each copy carries its package's licence. Both packages stay devDependencies: the build
// reads them, the installed command does not.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vendor = join(root, 'dist/vendor');
const require = createRequire(import.meta.url);
const packageRoot = (name) => dirname(require.resolve(`${name}/package.json`));

rmSync(vendor, { recursive: true, force: true });

const pqclean = packageRoot('pqclean');
mkdirSync(join(vendor, 'pqclean'), { recursive: true });
cpSync(join(pqclean, 'wasm/gen/pqclean.wasm'), join(vendor, 'pqclean/pqclean.wasm'));
cpSync(join(pqclean, 'LICENSE'), join(vendor, 'pqclean/LICENSE'));

const mceliece = packageRoot('mceliece-nist');
const mcelieceManifest = JSON.parse(readFileSync(join(mceliece, 'package.json'), 'utf8'));
cpSync(join(mceliece, 'wasm'), join(vendor, 'mceliece-nist/wasm'), { recursive: true });
cpSync(join(mceliece, 'package.json'), join(vendor, 'mceliece-nist/package.json'));
// The package ships no licence file; its manifest names the ISC licence and its author, and
// the ISC terms ask for the notice to travel with every copy.
writeFileSync(
  join(vendor, 'mceliece-nist/LICENSE'),
  [
    `${mcelieceManifest.name} ${mcelieceManifest.version} (its WebAssembly build, as copied here)`,
    `Copyright (c) ${mcelieceManifest.author}`,
    '',
    'Permission to use, copy, modify, and/or distribute this software for any purpose with or',
    'without fee is hereby granted, provided that the above copyright notice and this',
    'permission notice appear in all copies.',
    '',
    'THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO',
    'THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT',
    'SHALL THE AUTHOR BE LIABLE FOR ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR',
    'ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN ACTION OF',
    'CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN CONNECTION WITH THE USE',
    'OR PERFORMANCE OF THIS SOFTWARE.',
    '',
    'The module is built from the Classic McEliece reference implementation (NIST round-2',
    'submission package mceliece-20190331), which its authors put in the public domain.',
    '',
  ].join('\n'),
);
