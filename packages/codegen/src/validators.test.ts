// The generated validators (golden/catalog.ts, golden-strict/strict.ts) on valid and invalid
// payloads of every supported type, and on hostile ones. Messages are checked as a caller sees
// them: through core's runValidator, as INVALID_ARGUMENT with the exact path.
import { FastpathError, runValidator, type StandardSchemaV1 } from '@fastpath/core';
import { describe, expect, it } from 'vitest';
import { Color, Level, type Everything, type Json, type TreeNode } from './__fixtures__/all-types.js';
import { CatalogValidators } from './__fixtures__/golden/catalog.js';
import { StrictValidators } from './__fixtures__/golden-strict/strict.js';

const echo = CatalogValidators.echo.request;

// Everything has an optional `constructor` field, which an object literal cannot be checked against
// (TypeScript sees Object's constructor on it): build the rest, then cast.
function valid(): Everything {
  const v: Omit<Everything, 'constructor'> = {
    text: 'hi',
    count: 3,
    flag: true,
    big: 2n ** 70n,
    nothing: null,
    maybe: undefined,
    bytes: new Uint8Array([1, 2]),
    buffer: Buffer.from([3]),
    when: new Date(0),
    tags: ['a', 'b', 'c'],
    matrix: [[1, 2], [3]],
    pair: ['x', 1],
    optTuple: ['x'],
    restTuple: ['x', 1, 2, 3],
    money: { amount: 5, currency: 'EUR' },
    status: 'paid',
    priority: 2,
    day: 'sun',
    color: Color.Blue,
    level: Level.High,
    yes: true,
    scores: { ada: 1, bob: 2 },
    shape: { kind: 'rect', width: 1, height: 2 },
    tree: { label: 'root', children: [{ label: 'a', children: [] }, { label: 'b', children: [{ label: 'c', children: [] }] }] },
    json: { a: [1, 'two', null, { b: false }] },
    page: { items: [0, 1, 2, 3].map((i) => ({ sku: `s${i}`, quantity: i, price: { amount: i, currency: 'EUR' } })), next: null },
    nullable: null,
    mixed: { amount: 1, currency: 'USD' },
    frozen: [],
    inline: { a: 'a', b: { c: true } },
    rated: { amount: 1, currency: 'EUR', rate: 0.5 },
  };
  return v as Everything;
}

/** Runs a validator as core does; returns the error message, or 'ok'. */
function check(schema: StandardSchemaV1<unknown, unknown>, value: unknown): string {
  try {
    runValidator(schema, value, 'invalid');
    return 'ok';
  } catch (err) {
    if (!FastpathError.is(err)) throw err;
    expect(err.code).toBe('INVALID_ARGUMENT');
    return err.message.replace(/^invalid: /, '');
  }
}

const withField = (patch: (v: Record<string, unknown>) => void): unknown => {
  const v = valid() as unknown as Record<string, unknown>;
  patch(v);
  return v;
};

describe('generated validators: every supported type', () => {
  it('accepts a valid payload, returning it unchanged', () => {
    const v = valid();
    const r = echo['~standard'].validate(v) as StandardSchemaV1.SuccessResult<Everything>;
    expect(r.issues).toBeUndefined();
    expect(r.value).toBe(v);
    expect(r.value).toEqual(valid());
  });

  it.each<[string, (v: Record<string, unknown>) => void]>([
    ['optional fields present', (v) => Object.assign(v, { absent: 'x', maybe: 1, constructor: 'c', optTuple: ['x', 2] })],
    ['the other members of unions', (v) => Object.assign(v, { nullable: 's', mixed: 'm', json: [[[]], 'x', 1, true, null], shape: { kind: 'circle', radius: 1 } })],
    ['a record with no keys, an empty rest tuple and a number index in a union', (v) => Object.assign(v, { scores: {}, restTuple: ['x'], mixed: 5 })],
  ])('accepts %s', (_what, patch) => {
    expect(check(echo, withField(patch))).toBe('ok');
  });

  it.each<[string, (v: Record<string, unknown>) => void, string]>([
    ['string', (v) => (v.text = 1), 'text: expected string, got number'],
    ['number', (v) => (v.count = '3'), 'count: expected number, got string'],
    ['boolean', (v) => (v.flag = 'true'), 'flag: expected boolean, got string'],
    ['bigint', (v) => (v.big = 5), 'big: expected bigint, got number'],
    ['null', (v) => (v.nothing = undefined), 'nothing: missing, expected null'],
    ['required field', (v) => delete v.count, 'count: missing, expected number'],
    ['optional field', (v) => (v.absent = 5), 'absent: expected string, got number'],
    ['field that may be undefined', (v) => (v.maybe = null), 'maybe: expected number, got null'],
    ['Uint8Array', (v) => (v.bytes = [1, 2]), 'bytes: expected Uint8Array, got array'],
    ['Buffer', (v) => (v.buffer = new Uint8Array(1)), 'buffer: expected Buffer, got Uint8Array'],
    ['Date', (v) => (v.when = '1970-01-01'), 'when: expected Date, got string'],
    ['invalid Date', (v) => (v.when = new Date(NaN)), 'when: expected Date, got Invalid Date'],
    ['array', (v) => (v.tags = 'a,b'), 'tags: expected string[], got string'],
    ['array item', (v) => (v.tags = ['a', 'b', 3]), 'tags[2]: expected string, got number'],
    ['nested array item', (v) => (v.matrix = [[1], [2, '3']]), 'matrix[1][1]: expected number, got string'],
    ['tuple length', (v) => (v.pair = ['x', 1, 2]), 'pair: expected 2 elements, got 3'],
    ['tuple element', (v) => (v.pair = [1, 1]), 'pair[0]: expected string, got number'],
    ['optional tuple element', (v) => (v.optTuple = ['x', 'y']), 'optTuple[1]: expected number, got string'],
    ['rest tuple element', (v) => (v.restTuple = ['x', 1, 2, 'z']), 'restTuple[3]: expected number, got string'],
    ['nested interface', (v) => (v.money = { amount: '5', currency: 'EUR' }), 'money.amount: expected number, got string'],
    ['string literal union', (v) => (v.status = 'lost'), 'status: expected "pending" | "paid" | "shipped", got "lost"'],
    ['number literal union', (v) => (v.priority = 4), 'priority: expected 1 | 2 | 3, got 4'],
    ['long literal union', (v) => (v.day = 'someday'), 'day: expected "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun", got "someday"'],
    ['numeric enum', (v) => (v.color = 7), 'color: expected 0 | 1 | 2, got 7'],
    ['string enum', (v) => (v.level = 'LOW'), 'level: expected "low" | "high", got "LOW"'],
    ['boolean literal', (v) => (v.yes = false), 'yes: expected true, got false'],
    ['Record value', (v) => (v.scores = { ada: 1, bob: 'x' }), 'scores.bob: expected number, got string'],
    ['Record itself', (v) => (v.scores = [1]), 'scores: expected object, got array'],
    ['discriminant', (v) => (v.shape = { kind: 'triangle' }), 'shape.kind: expected "circle" | "square" | "rect", got "triangle"'],
    ['discriminated variant', (v) => (v.shape = { kind: 'square', size: 1 }), 'shape.side: missing, expected number'],
    ['discriminated union itself', (v) => (v.shape = 'circle'), 'shape: expected Shape, got string'],
    ['recursive interface', (v) => ((v.tree as TreeNode).children[1]!.children[0]!.label = 1 as never), 'tree.children[1].children[0].label: expected string, got number'],
    ['recursive alias', (v) => (v.json = { a: [1, { b: [() => 1] }] }), 'json.a[1].b[0]: expected Json, got function'],
    ['generic instance (the issue example)', (v) => ((v.page as { items: Array<{ price: { amount: unknown } }> }).items[3]!.price.amount = 'x'), 'page.items[3].price.amount: expected number, got string'],
    ['nullable', (v) => (v.nullable = 5), 'nullable: expected null | string, got number'],
    ['union of primitives and an interface', (v) => (v.mixed = true), 'mixed: expected null | string | number | Money, got boolean'],
    ['object member of a union', (v) => (v.mixed = { amount: 1 }), 'mixed.currency: missing, expected string'],
    ['inline type literal', (v) => (v.inline = { a: 'a', b: { c: 1 } }), 'inline.b.c: expected boolean, got number'],
    ['intersection', (v) => (v.rated = { amount: 1, currency: 'EUR' }), 'rated.rate: missing, expected number'],
  ])('rejects a wrong %s', (_what, patch, message) => {
    expect(check(echo, withField(patch))).toBe(message);
  });
});

describe('generated validators: hostile input', () => {
  it('wrong types at the root', () => {
    for (const [v, got] of [[null, 'null'], ['x', 'string'], [[], 'array'], [new Date(0), 'Date'], [Buffer.alloc(1), 'Uint8Array']] as const) {
      expect(check(echo, v)).toBe(`expected Everything, got ${got}`);
    }
  });

  it('strips extra keys in place (default mode), __proto__ included, without touching any prototype', () => {
    const v = withField((x) => {
      x.extra = 1;
      (x.money as Record<string, unknown>).rate = 2;
    }) as Record<string, unknown>;
    Object.defineProperty(v, '__proto__', { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
    const hostile = JSON.parse('{"label":"x","children":[],"__proto__":{"polluted":true},"__proto_":1}') as Record<string, unknown>;
    v.tree = hostile;
    expect(check(echo, v)).toBe('ok');
    expect(Object.keys(v)).not.toContain('extra');
    expect(Object.keys(v)).not.toContain('__proto__');
    expect(Object.keys(v.money as object)).toEqual(['amount', 'currency']);
    expect(Object.keys(hostile)).toEqual(['label', 'children']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a field named like an Object.prototype member is read as an own property only', () => {
    const v = valid();
    expect(check(echo, v)).toBe('ok'); // `constructor` is absent: Object.prototype.constructor is not mistaken for it
    expect(check(echo, { ...v, constructor: 5 })).toBe('constructor: expected string, got number');
  });

  it('refuses a __proto__ key in a Record', () => {
    const scores = JSON.parse('{"a":1,"__proto__":2}') as unknown;
    expect(check(echo, withField((v) => (v.scores = scores)))).toBe('scores.__proto__: the key __proto__ is not allowed');
  });

  it('bounds nesting: deep recursive input fails with a path, never a stack overflow', () => {
    let json: Json = 1;
    for (let i = 0; i < 100_000; i++) json = [json];
    const msg = check(echo, withField((v) => (v.json = json)));
    // The root is level 0; each nested object (or recursive alias) is one more.
    expect(msg).toMatch(/^json(\[0\]){64}: nested deeper than 64 levels$/);
    let tree: TreeNode = { label: 'leaf', children: [] };
    for (let i = 0; i < 63; i++) tree = { label: `n${i}`, children: [tree] };
    expect(check(echo, withField((v) => (v.tree = tree)))).toBe('ok');
    tree = { label: 'top', children: [tree] };
    expect(check(echo, withField((v) => (v.tree = tree)))).toMatch(/nested deeper than 64 levels$/);
  });

  it('huge arrays within limits: 200 000 items pass, and the bad one is found by index', () => {
    const tags = Array.from({ length: 200_000 }, (_, i) => `t${i}`);
    expect(check(echo, withField((v) => (v.tags = tags)))).toBe('ok');
    tags[199_999] = 5 as never;
    expect(check(echo, withField((v) => (v.tags = tags)))).toBe('tags[199999]: expected string, got number');
  });

  it('the issues carry the path as data, for programs', () => {
    const r = echo['~standard'].validate(withField((v) => (v.tags = ['a', 1]))) as StandardSchemaV1.FailureResult;
    expect(r.issues).toEqual([{ message: 'expected string, got number', path: ['tags', 1] }]);
  });
});

describe('generated validators: top-level values', () => {
  it('a method without a request accepts what the codec turns undefined into (null), and nothing else', () => {
    const ping = CatalogValidators.ping.request['~standard'];
    expect(ping.validate(null)).toEqual({ value: undefined });
    expect(ping.validate(undefined)).toEqual({ value: undefined });
    expect(check(CatalogValidators.ping.request, {})).toBe('expected undefined, got object');
  });

  it('an optional request, a nullable response, a primitive response', () => {
    expect(check(CatalogValidators.pinned.request, null)).toBe('ok');
    expect(check(CatalogValidators.pinned.request, { hint: 'h' })).toBe('ok');
    expect(check(CatalogValidators.pinned.request, 'h')).toBe('expected undefined | object, got string');
    expect(check(CatalogValidators.getItem.response, null)).toBe('ok');
    expect(check(CatalogValidators.pinned.response, '1')).toBe('expected number, got string');
  });
});

describe("unknownKeys: 'reject', maxDepth 8 (golden-strict)", () => {
  const put = StrictValidators.put.request;
  const chain = (n: number): Record<string, unknown> => {
    let node: Record<string, unknown> = { name: 'end' };
    for (let i = 0; i < n; i++) node = { name: `n${i}`, next: node };
    return node;
  };

  it('rejects an undeclared key with its path, and accepts declared optional ones', () => {
    expect(check(put, { node: { name: 'a', next: { name: 'b' } }, tags: ['x'] })).toBe('ok');
    expect(check(put, { node: { name: 'a', next: { name: 'b', extra: 1 } } })).toBe('node.next.extra: unknown key');
    expect(check(put, JSON.parse('{"node":{"name":"a"},"__proto__":{}}'))).toBe('__proto__: unknown key');
  });

  it('bounds nesting at 8', () => {
    expect(check(put, { node: chain(7) })).toBe('ok');
    expect(check(put, { node: chain(8) })).toMatch(/^node(\.next){8}: nested deeper than 8 levels$/);
  });
});
