/**
 * Python source for the config files of Python programs (JupyterHub today; Airflow and Superset
 * read Python too). Values are written as Python literals, so the file holds data, not logic;
 * where the program must read something at start (a secret from its environment) the value is a
 * `PythonExpression`, written as is and kept to a handful of reviewed shapes.
 */

/** Python source written as is, e.g. `os.environ["PGPASSWORD"]`. */
export class PythonExpression {
  /** The value of environment variable `name` at start; the program fails to start without it. */
  public static env(name: string): PythonExpression {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`environment variable name '${name}' is not a valid identifier`);
    return new PythonExpression(`os.environ[${JSON.stringify(name)}]`);
  }

  constructor(public readonly source: string) {}
}

/** A value that `pythonLiteral` can write. */
export type PythonValue = string | number | boolean | null | PythonExpression | readonly PythonValue[] | { readonly [key: string]: PythonValue };

const INDENT = '    ';

/**
 * `value` as Python source: dicts and lists over several lines, strings double-quoted (a JSON
 * string literal is a valid Python one), `True`, `False`, `None`. Throws on numbers Python cannot
 * read back (NaN, Infinity) and on `undefined`, which has no Python meaning.
 */
export function pythonLiteral(value: PythonValue, depth = 0): string {
  if (value instanceof PythonExpression) return value.source;
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} has no Python literal`);
    return String(value);
  }
  const inner = INDENT.repeat(depth + 1);
  const close = INDENT.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => `${inner}${pythonLiteral(v, depth + 1)},`).join('\n')}\n${close}]`;
  }
  if (typeof value !== 'object') throw new Error(`a ${typeof value} has no Python literal`);
  const entries = Object.entries(value as Record<string, PythonValue>);
  if (entries.length === 0) return '{}';
  return `{\n${entries
    .map(([k, v]) => {
      if (v === undefined) throw new Error(`key '${k}' has no value; leave it out instead`);
      return `${inner}${JSON.stringify(k)}: ${pythonLiteral(v, depth + 1)},`;
    })
    .join('\n')}\n${close}}`;
}
