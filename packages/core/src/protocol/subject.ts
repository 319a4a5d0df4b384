import { FastpathError } from './errors.js';

/**
 * Subjects are dot-separated tokens, as in NATS: `orders.eu.created`. In a subscription, `*`
 * matches exactly one token and `>` (last token only) matches one or more remaining tokens.
 * Tokens are non-empty and contain no whitespace; publish subjects contain no wildcards.
 */
const TOKEN = /^[^\s.*>]+$/;
export const MAX_SUBJECT_LENGTH = 1024;

function invalid(subject: string, why: string): FastpathError {
  return new FastpathError('INVALID_ARGUMENT', `invalid subject "${subject}": ${why}`, { details: { reason: 'bad-subject', subject } });
}

/** Throws INVALID_ARGUMENT unless `subject` is a valid subscription subject (wildcards allowed). */
export function checkSubscribeSubject(subject: string): string[] {
  if (typeof subject !== 'string' || subject.length === 0) throw invalid(String(subject), 'empty');
  if (subject.length > MAX_SUBJECT_LENGTH) throw invalid(subject.slice(0, 40), `longer than ${MAX_SUBJECT_LENGTH}`);
  const tokens = subject.split('.');
  tokens.forEach((t, i) => {
    if (t === '*') return;
    if (t === '>') {
      if (i !== tokens.length - 1) throw invalid(subject, '">" must be the last token');
      return;
    }
    if (t.length === 0) throw invalid(subject, 'empty token');
    if (!TOKEN.test(t)) throw invalid(subject, `bad token "${t}"`);
  });
  return tokens;
}

const validPublishSubjects = new Set<string>();

/** Throws INVALID_ARGUMENT unless `subject` is a valid publish subject (no wildcards). Valid subjects are cached. */
export function checkPublishSubject(subject: string): void {
  if (validPublishSubjects.has(subject)) return;
  const tokens = checkSubscribeSubject(subject);
  if (tokens.some((t) => t === '*' || t === '>')) throw invalid(subject, 'wildcards are not allowed when publishing');
  if (validPublishSubjects.size >= 10_000) validPublishSubjects.clear();
  validPublishSubjects.add(subject);
}

/** Whether a subscription pattern matches a publish subject (both already valid). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
