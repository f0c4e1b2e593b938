// Finding and parsing config files: YAML (.yaml/.yml), JSON (.json) or the
// SFTPPlus INI form (.ini/.conf); a folder means its files of those kinds,
// sorted by name, hidden ones skipped. Syntax errors are problems with the
// line and column the parser gives, never exceptions.

import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import type { ConfigProblem } from '../errors.js';
import { iniToConfig } from './ini.js';

export type ConfigFormat = 'yaml' | 'json' | 'ini';

const FORMATS: Readonly<Record<string, ConfigFormat>> = {
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.json': 'json',
  '.ini': 'ini',
  '.conf': 'ini',
};

export const CONFIG_EXTENSIONS: readonly string[] = Object.keys(FORMATS);

export function formatOf(file: string): ConfigFormat | undefined {
  return FORMATS[extname(file).toLowerCase()];
}

export interface ListedFiles {
  files: string[];
  isFolder: boolean;
  problems: ConfigProblem[];
}

/** The config files at `path` (a file or a folder), in merge order. */
export async function listConfigFiles(path: string): Promise<ListedFiles> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`;
    return { files: [], isFolder: false, problems: [{ file: path, key: '', message: `the config path ${why}` }] };
  }
  if (!info.isDirectory()) {
    if (formatOf(path) === undefined) {
      return {
        files: [],
        isFolder: false,
        problems: [{ file: path, key: '', message: `unsupported config file type; use one of ${CONFIG_EXTENSIONS.join(', ')}` }],
      };
    }
    return { files: [path], isFolder: false, problems: [] };
  }
  const entries = await readdir(path, { withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && formatOf(entry.name) !== undefined)
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => join(path, name));
  const problems: ConfigProblem[] =
    files.length === 0
      ? [{ file: path, key: '', message: `the config folder holds no config file (${CONFIG_EXTENSIONS.join(', ')})` }]
      : [];
  return { files, isFolder: true, problems };
}

export interface ParsedFile {
  /** The file's top-level mapping; undefined when it could not be parsed. */
  value: Record<string, unknown> | undefined;
  problems: ConfigProblem[];
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

function parseYaml(file: string, text: string): { value: unknown; problems: ConfigProblem[] } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      value: undefined,
      problems: doc.errors.map((error) => {
        const pos = error.linePos?.[0];
        const where = pos !== undefined ? ` at line ${pos.line}, column ${pos.col}` : '';
        // The pretty message repeats the position and quotes the line; keep the words.
        const words = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return { file, key: '', message: `YAML syntax error${where}: ${words}` };
      }),
    };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: 100 }) as unknown, problems: [] };
  } catch (err) {
    // e.g. an alias bomb: refuse it as a problem, never expand it.
    return { value: undefined, problems: [{ file, key: '', message: `YAML could not be read: ${(err as Error).message}` }] };
  }
}

function parseJson(file: string, text: string): { value: unknown; problems: ConfigProblem[] } {
  try {
    return { value: JSON.parse(text) as unknown, problems: [] };
  } catch (err) {
    // V8 names a position only for some errors, and may quote the whole text:
    // keep its first words, and ask the YAML parser (JSON is YAML) for a place.
    const raw = (err as Error).message;
    const words = (raw.split(/, "|\n/)[0] ?? raw).replace(/ in JSON at position \d+.*$/, '');
    const position = /at position (\d+)/.exec(raw);
    let place = position !== null ? lineColumn(text, Number(position[1])) : undefined;
    if (place === undefined) {
      const pos = parseDocument(text, { prettyErrors: true }).errors[0]?.linePos?.[0];
      if (pos !== undefined) place = { line: pos.line, column: pos.col };
    }
    const where = place !== undefined ? ` at line ${place.line}, column ${place.column}` : '';
    return { value: undefined, problems: [{ file, key: '', message: `JSON syntax error${where}: ${words}` }] };
  }
}

/** Parses one file; its top level must be a mapping (an empty file is an empty one). */
export async function parseConfigFile(file: string): Promise<ParsedFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { value: undefined, problems: [{ file, key: '', message: `cannot be read: ${(err as Error).message}` }] };
  }
  return parseConfigText(file, text);
}

/** Parses config text in the format its file name says. */
export function parseConfigText(file: string, text: string): ParsedFile {
  const format = formatOf(file);
  if (format === 'ini') {
    const { value, problems } = iniToConfig(text);
    return { value, problems: problems.map((p) => ({ ...p, file })) };
  }
  const { value, problems } = format === 'json' ? parseJson(file, text) : parseYaml(file, text);
  if (problems.length > 0) return { value: undefined, problems };
  if (value === null || value === undefined) return { value: {}, problems: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return {
      value: undefined,
      problems: [{ file, key: '', message: `the top level must be a mapping of sections (server, events, handlers, …), not ${Array.isArray(value) ? 'a list' : typeof value}` }],
    };
  }
  return { value: value as Record<string, unknown>, problems: [] };
}
