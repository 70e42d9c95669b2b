// The package's version for `ttycr --version`, from the package.json next to the sources or
// next to dist/.

import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const text = readFileSync(new URL(up, import.meta.url), 'utf8');
      const pkg = JSON.parse(text) as { name?: string; version?: string };
      if (pkg.name === 'ttycr' && pkg.version) return pkg.version;
    } catch {
      // Not at this level: try the next one up.
    }
  }
  return '0.0.0';
}
