import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('layers', () => {
  it('the library never imports from src/cli (the CLI is the top floor; embedders do not get commander)', () => {
    const offenders = sourceFiles(SRC)
      .filter((file) => !path.relative(SRC, file).startsWith(`cli${path.sep}`))
      .flatMap((file) => {
        // `… from '…'`, `import '…'` and `import('…')`.
        const specifiers = [...readFileSync(file, 'utf8').matchAll(/\b(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
        return specifiers
          .filter((s) => s.startsWith('.') && path.relative(SRC, path.resolve(path.dirname(file), s)).split(path.sep)[0] === 'cli')
          .map((s) => `${path.relative(SRC, file)} imports ${s}`);
      });
    expect(offenders).toEqual([]);
  });
});
