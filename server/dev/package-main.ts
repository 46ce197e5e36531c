/** `npm run package`: the release packages for Chrome and Firefox, with their paths and sizes. */
import { packageRelease } from './package';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
try {
  for (const p of packageRelease()) console.log(`${p.target.padEnd(8)} ${p.path}  ${kb(p.bytes)}`);
} catch (e) {
  console.error(`paybound: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
