// Bundle src/index.js into ../service/static/widget.js and enforce the gzip -9 size budget.
//   node build.mjs         build, print the size, exit 1 over budget
//   node build.mjs --size  print the size of the built file only
import { mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';

const BUDGET = 6144;

// `import CSS from './styles.css'` yields the minified stylesheet as a string.
const cssAsText = {
  name: 'css-as-text',
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await transform(await readFile(args.path, 'utf8'), { loader: 'css', minify: true });
      return { contents: `export default ${JSON.stringify(code.trim().replace(/, /g, ',').replace(/: /g, ':'))}`, loader: 'js' };
    });
  },
};
const here = dirname(fileURLToPath(import.meta.url));
const outfile = resolve(here, '../service/static/widget.js');

if (!process.argv.includes('--size')) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [resolve(here, 'src/index.js')],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020', // optional chaining and ?? stay native: Chrome 80, Firefox 74, Safari 13.1
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    plugins: [cssAsText],
  });
}

const bytes = readFileSync(outfile);
const gzipped = gzipSync(bytes, { level: 9 }).length;
console.log(`service/static/widget.js: ${bytes.length} bytes, gzip -9 ${gzipped} bytes (budget ${BUDGET})`);
if (gzipped > BUDGET) {
  console.error(`widget bundle is ${gzipped - BUDGET} bytes over the ${BUDGET}-byte gzip budget`);
  process.exit(1);
}
