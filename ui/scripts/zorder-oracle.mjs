// The npm `fractional-indexing` package as an oracle for the engine's Rust port
// (src-tauri/engine/src/zorder.rs): reads a JSON array of operations `[a, b, n]` on stdin
// (a and b keys or null) and prints, as a JSON array, `generateNKeysBetween(a, b, n)` for
// each, or `"error"` where the package throws. The engine's test runs it and compares.
import { generateNKeysBetween } from 'fractional-indexing';

let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map(([a, b, n]) => {
  try {
    return generateNKeysBetween(a, b, n);
  } catch {
    return 'error';
  }
});
process.stdout.write(JSON.stringify(out));
