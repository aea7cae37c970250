import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deriveAutosave, type AutosaveInput } from './autosave';
import type { AutosaveState } from '../types';

interface Case {
  name: string;
  input: AutosaveInput;
  expect: AutosaveState;
}

// The engine's table (its `sync::autosave` test runs the same file).
const table = new URL('../../../../src-tauri/engine/fixtures/autosave.json', import.meta.url);
const cases = JSON.parse(readFileSync(table, 'utf8')) as Case[];

describe('autosave indicator', () => {
  it('has the shared table', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
  });
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(deriveAutosave(c.input)).toEqual(c.expect);
  });
});
