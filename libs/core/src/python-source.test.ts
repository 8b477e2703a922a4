import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { PythonExpression, pythonLiteral } from './python-source';

test('writes data as Python literals that Python reads back as the same data', () => {
  const value = { name: 'hub "main"\n', ports: [8081, 8000], ratio: 0.5, on: true, off: false, none: null, nested: { empty: [], also: {} }, unicode: 'Größe ✓' };
  const source = pythonLiteral(value);
  // The real interpreter is the judge: ast.literal_eval accepts literals only, no code.
  const parsed = execFileSync('python3', ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(sys.stdin.read())))'], { input: source, encoding: 'utf8' });
  expect(JSON.parse(parsed)).toEqual(value);
});

test('writes expressions as they are and refuses values Python cannot hold', () => {
  expect(pythonLiteral({ password: PythonExpression.env('PGPASSWORD') })).toBe('{\n    "password": os.environ["PGPASSWORD"],\n}');
  expect(() => PythonExpression.env('PG-PASSWORD')).toThrowError("environment variable name 'PG-PASSWORD' is not a valid identifier");
  expect(() => pythonLiteral(Number.NaN)).toThrowError('NaN has no Python literal');
  expect(() => pythonLiteral({ a: undefined as unknown as string })).toThrowError("key 'a' has no value; leave it out instead");
});
