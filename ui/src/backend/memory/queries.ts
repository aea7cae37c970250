/**
 * List queries of the in-memory backend: default project names, project search and sort, asset
 * sort — the same rules as the engine and the server (`next_default_name`: the smallest free
 * number, two digits).
 */
import type { LibraryAsset, Project, SortOrder } from '../types';

export const DEFAULT_NAME_PREFIX = 'Iskra ';

/** `Iskra 01`, `Iskra 02`, …: the smallest number not taken by an existing name. */
export function nextDefaultName(names: Iterable<string>): string {
  const used = new Set<number>();
  for (const n of names) {
    if (!n.startsWith(DEFAULT_NAME_PREFIX)) continue;
    const rest = n.slice(DEFAULT_NAME_PREFIX.length);
    if (/^\d+$/.test(rest)) used.add(Number(rest));
  }
  let n = 1;
  while (used.has(n)) n++;
  return `${DEFAULT_NAME_PREFIX}${String(n).padStart(2, '0')}`;
}

/** Case-insensitive substring search on the name. */
export function projectMatches(p: Project, query: string): boolean {
  const q = query.trim().toLocaleLowerCase();
  return q === '' || p.name.toLocaleLowerCase().includes(q);
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

export function sortProjects(list: Project[], sort: 'updated' | 'name', order: SortOrder): Project[] {
  const dir = order === 'asc' ? 1 : -1;
  return list.sort((a, b) => {
    const c = sort === 'name' ? collator.compare(a.name, b.name) : a.updatedAt.localeCompare(b.updatedAt);
    return c !== 0 ? c * dir : a.id.localeCompare(b.id);
  });
}

export function sortAssets(list: LibraryAsset[], sort: 'created' | 'size' | 'type', order: SortOrder): LibraryAsset[] {
  const dir = order === 'asc' ? 1 : -1;
  return list.sort((a, b) => {
    let c: number;
    if (sort === 'size') c = a.sizeBytes - b.sizeBytes;
    else if (sort === 'type') c = a.type.localeCompare(b.type) || a.mimeType.localeCompare(b.mimeType);
    else c = a.createdAt.localeCompare(b.createdAt);
    return c !== 0 ? c * dir : b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id);
  });
}
