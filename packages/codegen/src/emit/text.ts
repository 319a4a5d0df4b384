/** Small text helpers for emitting TypeScript. */

/** A single-quoted JavaScript string literal. */
export function q(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')}'`;
}

/** A property key: bare when it is an identifier, quoted otherwise. */
export function key(s: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(s) ? s : q(s);
}

/** A JSDoc block at `ind`, or nothing. */
export function jsdoc(text: string | undefined, ind: string): string[] {
  if (!text) return [];
  const lines = text.replace(/\*\//g, '*\\/').split('\n');
  if (lines.length === 1) return [`${ind}/** ${lines[0]} */`];
  return [`${ind}/**`, ...lines.map((l) => (l ? `${ind} * ${l}` : `${ind} *`)), `${ind} */`];
}

export function kebab(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
}

export function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
