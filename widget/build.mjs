// Build the widget into ../service/static and enforce the gzip -9 size budgets:
//   widget.js       the first layer (banner, gating, delivery, public API)   <= 5,120 B
//   widget-more.js  the on-demand parts (preferences dialog, placeholders)
//   both together: everything the widget can load                            <= 10,240 B
// The first layer names the on-demand file with its content hash (?v=), so a release is picked
// up at once. The per-site script (/s/{site}.js) is the first layer with its config in front,
// made by the service from widget.js.
//   node build.mjs         build, print the sizes, exit 1 over a budget
//   node build.mjs --size  print the sizes of the built files only
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, transform } from 'esbuild';
import { minify } from 'terser';

export const FIRST_LAYER_BUDGET = 5120;
export const TOTAL_BUDGET = 10240;

/**
 * Minified CSS in the `consentry` cascade layer with every declaration `!important`: a layered
 * important declaration wins over every unlayered declaration of the host page, important or
 * not, whatever its specificity.
 */
export async function isolatedCss(source) {
  const { code } = await transform(source, { loader: 'css', minify: true });
  const important = code.trim().replace(/([{;])([^{};]+?:[^{};]+?)(?=[;}])/g, '$1$2!important');
  return `@layer consentry{${important}}`;
}

// `import CSS from './banner.css'` yields the isolated stylesheet as a string.
const cssAsText = {
  name: 'css-as-text',
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (args) => ({
      contents: `export default ${JSON.stringify(await isolatedCss(await readFile(args.path, 'utf8')))}`,
      loader: 'js',
    }));
  },
};
const here = dirname(fileURLToPath(import.meta.url));
const out = (name) => resolve(here, '../service/static', name);
const FIRST = out('widget.js');
const MORE = out('widget-more.js');

// esbuild bundles; terser's extra passes then save about 3% of the gzip size.
const bundle = async (entry, outfile, define = {}) => {
  await build({
    entryPoints: [resolve(here, 'src', entry)],
    outfile,
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2020', // optional chaining and ?? stay native: Chrome 80, Firefox 74, Safari 13.1
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    define,
    // The state object's properties end in `_` (src/index.js): shortened like local names
    mangleProps: /_$/,
    plugins: [cssAsText],
  });
  const { code } = await minify(readFileSync(outfile, 'utf8'), {
    ecma: 2020,
    compress: { passes: 3, unsafe: true, pure_getters: true, hoist_funs: true },
    format: { comments: false },
  });
  writeFileSync(outfile, code);
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes('--size')) {
    mkdirSync(dirname(FIRST), { recursive: true });
    await bundle('more.js', MORE);
    const version = createHash('sha256').update(readFileSync(MORE)).digest('hex').slice(0, 12);
    await bundle('index.js', FIRST, { MORE_VERSION: JSON.stringify(version) });
  }
  const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
  const first = gz(FIRST);
  const more = gz(MORE);
  console.log(`widget.js (first layer): gzip -9 ${first} bytes (budget ${FIRST_LAYER_BUDGET})`);
  console.log(`widget-more.js (on demand): gzip -9 ${more} bytes`);
  console.log(`everything: ${first + more} bytes (budget ${TOTAL_BUDGET})`);
  if (first > FIRST_LAYER_BUDGET || first + more > TOTAL_BUDGET) {
    console.error('widget over its gzip budget');
    process.exit(1);
  }
}
