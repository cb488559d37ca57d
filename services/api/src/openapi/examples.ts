import { readFileSync } from 'node:fs';
import { pageMeta } from '../http/links';
import type { PxcodeItem } from '../pxcodes/representation';
import { sampleDataFile } from '../seed';

// Examples are the seed's sample data, as a fresh install answers them on the README's port.
const exampleOrigin = 'http://localhost:5000';
export const exampleCollection = `${exampleOrigin}/api/v1.0/pxcodes/`;

/** The sample file's first rows (its INSERT lines; doubled quotes are the only escape). */
function sampleRows(count: number): { pxcode: string; procedure: string }[] {
  const rows = [...readFileSync(sampleDataFile, 'utf8').matchAll(/VALUES \('((?:[^']|'')*)','((?:[^']|'')*)'\)/g)];
  return rows.slice(0, count).map(([, pxcode, procedure]) => ({ pxcode: pxcode!.replaceAll("''", "'"), procedure: procedure!.replaceAll("''", "'") }));
}

const [first, second] = sampleRows(2) as [PxcodeItem, PxcodeItem];
const item = (row: { pxcode: string; procedure: string }): PxcodeItem => ({ procedure: row.procedure, pxcode: row.pxcode, url: `${exampleCollection}${row.pxcode}` });

export const exampleItem = item(first);
export const exampleNewItem = { pxcode: first.pxcode, procedure: first.procedure };
export const exampleChange = { procedure: second.procedure };
export const examplePage = { items: [item(first), item(second)], meta: pageMeta(exampleCollection, 1, 2, 100) };
export const exampleEtag = '"2Y0s4xJb6n1rR5r8k3oQ1ZC2m9A"';
