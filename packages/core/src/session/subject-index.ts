interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  star: TrieNode<T> | undefined;
  /** Items whose pattern ends here. */
  here: Set<T>;
  /** Items whose pattern ends with `>` right after this node. */
  rest: Set<T>;
}

const node = <T>(): TrieNode<T> => ({ children: new Map(), star: undefined, here: new Set(), rest: new Set() });

/**
 * Subscription patterns in a token trie (the NATS "sublist" idea), with a bounded cache of
 * match results that is cleared whenever a subscription is added or removed.
 */
export class SubjectIndex<T> {
  private readonly root: TrieNode<T> = node();
  private readonly cache = new Map<string, T[]>();
  private count = 0;

  constructor(private readonly cacheLimit = 4096) {}

  get size(): number {
    return this.count;
  }

  add(pattern: string, item: T): void {
    let n = this.root;
    const tokens = pattern.split('.');
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t === '>') {
        n.rest.add(item);
        this.changed(1);
        return;
      }
      if (t === '*') n = n.star ??= node();
      else {
        let c = n.children.get(t);
        if (!c) n.children.set(t, (c = node()));
        n = c;
      }
    }
    n.here.add(item);
    this.changed(1);
  }

  remove(pattern: string, item: T): void {
    const path: Array<[TrieNode<T>, string]> = [];
    let n: TrieNode<T> | undefined = this.root;
    const tokens = pattern.split('.');
    for (let i = 0; i < tokens.length && n; i++) {
      const t = tokens[i]!;
      if (t === '>') {
        if (n.rest.delete(item)) this.changed(-1);
        this.prune(path, n);
        return;
      }
      path.push([n, t]);
      n = t === '*' ? n.star : n.children.get(t);
    }
    if (n && n.here.delete(item)) this.changed(-1);
    if (n) this.prune(path, n);
  }

  /** Every item whose pattern matches `subject` (each at most once). */
  match(subject: string): T[] {
    const hit = this.cache.get(subject);
    if (hit) return hit;
    const out = new Set<T>();
    this.walk(this.root, subject.split('.'), 0, out);
    const result = [...out];
    if (this.cache.size >= this.cacheLimit) this.cache.clear();
    this.cache.set(subject, result);
    return result;
  }

  private walk(n: TrieNode<T>, tokens: string[], i: number, out: Set<T>): void {
    if (i < tokens.length) for (const item of n.rest) out.add(item);
    if (i === tokens.length) {
      for (const item of n.here) out.add(item);
      return;
    }
    const c = n.children.get(tokens[i]!);
    if (c) this.walk(c, tokens, i + 1, out);
    if (n.star) this.walk(n.star, tokens, i + 1, out);
  }

  private prune(path: Array<[TrieNode<T>, string]>, leaf: TrieNode<T>): void {
    let child = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (child.here.size || child.rest.size || child.children.size || child.star) return;
      const [parent, token] = path[i]!;
      if (token === '*') parent.star = undefined;
      else parent.children.delete(token);
      child = parent;
    }
  }

  private changed(delta: number): void {
    this.count += delta;
    this.cache.clear();
  }
}
