import { readFileSync } from 'node:fs';
import { isMap, parseDocument } from 'yaml';
import { z } from 'zod';

/** A configuration file that failed to load; the message names file, key path, expected and found. */
export class ConfigError extends Error {
  constructor(
    public readonly file: string,
    public readonly problems: string[],
  ) {
    super(`${file}: invalid cluster configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function describeFound(value: unknown, present: boolean): string {
  if (!present) return 'nothing (the key is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return `a mapping with keys ${Object.keys(value as object).join(', ') || '(none)'}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function lookup(data: unknown, path: readonly PropertyKey[]): { present: boolean; value: unknown } {
  let current: unknown = data;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !(String(key) in (current as object))) {
      return { present: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[String(key)];
  }
  return { present: true, value: current };
}

function pathText(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Turns a zod issue into "key.path: expected X, found Y". */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): string[] {
  if (issue.code === 'unrecognized_keys') {
    const parent = lookup(data, issue.path);
    const allowed = Object.keys(parent.value ?? {}).filter((k) => !issue.keys.includes(k));
    return issue.keys.map(
      (key) =>
        `${pathText([...issue.path, key])}: unknown key; expected one of the keys this mapping allows${allowed.length ? ` (present and valid: ${allowed.join(', ')})` : ''}, found ${JSON.stringify(key)}. Check the spelling against clusters/cluster.schema.json`,
    );
  }
  const { present, value } = lookup(data, issue.path);
  const found = describeFound(value, present);
  let expected: string;
  switch (issue.code) {
    case 'invalid_type':
      expected = `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}`;
      if (issue.expected === 'string' && typeof value === 'number') expected += ' (quote the value in YAML)';
      break;
    case 'invalid_value':
      expected = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      // YAML reads 1.30 as the number 1.3: a string was meant.
      if (typeof value === 'number' && issue.values.every((v) => typeof v === 'string')) expected += ' (quote the value in YAML)';
      break;
    case 'too_small':
      expected =
        issue.origin === 'array' ? `expected at least ${issue.minimum} ${Number(issue.minimum) === 1 ? 'entry' : 'entries'}` : `expected ${issue.origin === 'string' ? 'length' : 'a value'} >= ${issue.minimum}`;
      break;
    case 'too_big':
      expected = `expected ${issue.origin === 'string' ? 'length' : 'a value'} <= ${issue.maximum}`;
      break;
    default:
      expected = issue.message.startsWith('expected') ? issue.message : `expected ${issue.message}`;
  }
  return [`${pathText(issue.path)}: ${expected}, found ${found}`];
}

/**
 * Reads a YAML file and validates it against `schema`. Throws a `ConfigError` that names the
 * file, every failing key path, what was expected and what was found. Unknown keys fail
 * (the schema uses strict objects), so a typo never passes silently.
 */
export function loadConfigFile<T extends z.ZodType>(file: string, schema: T, displayName = file): z.output<T> {
  return validateConfigData(readConfigData(file, displayName), schema, displayName);
}

/** The mapping a YAML configuration file holds, before validation; throws `ConfigError` on unreadable or invalid YAML. */
export function readConfigData(file: string, displayName = file): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(displayName, [`cannot be read: ${(err as Error).message}`]);
  }
  return parseConfigData(text, displayName);
}

/** `loadConfigFile` for text already in hand (an edit checked before it is written). */
export function parseConfigText<T extends z.ZodType>(text: string, schema: T, displayName: string): z.output<T> {
  return validateConfigData(parseConfigData(text, displayName), schema, displayName);
}

function parseConfigData(text: string, displayName: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      displayName,
      doc.errors.map((e) => `invalid YAML at line ${e.linePos?.[0].line ?? '?'}, column ${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  if (doc.contents === null) {
    throw new ConfigError(displayName, ['(top level): expected a mapping of cluster settings, found an empty file']);
  }
  if (!isMap(doc.contents)) {
    throw new ConfigError(displayName, [`(top level): expected a mapping of cluster settings, found ${describeFound(doc.toJS(), true)}`]);
  }
  return doc.toJS();
}

/**
 * Validates configuration data against `schema`; throws a `ConfigError` naming `displayName`,
 * every failing key path, what was expected and what was found (each problem after `prefix`).
 */
export function validateConfigData<T extends z.ZodType>(data: unknown, schema: T, displayName: string, prefix = ''): z.output<T> {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new ConfigError(displayName, result.error.issues.flatMap((issue) => describeIssue(issue, data).map((p) => prefix + p)));
  }
  return result.data;
}
