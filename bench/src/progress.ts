/**
 * Progress on a terminal: one line on stderr, rewritten in place, with the time since the run
 * started. Nothing at all is written when stderr is not a TTY (a file, a pipe, CI), so
 * `npm run bench > run.txt 2> err.txt` captures only results and errors.
 */
export interface ProgressLine {
  /** Shows `message` as the current step. */
  (message: string): void;
  /** Removes the line (before other output is written); the next message brings it back. */
  clear(): void;
  /** Removes the line for good and stops the clock. */
  done(): void;
}

/** What the line is written to: process.stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const CLEAR = '\r\x1b[K';

/** Fits `text` into `width` columns, cutting the middle of an over-long message. */
export function fitLine(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, Math.max(0, width));
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

export function progressLine(stream: ProgressStream = process.stderr, now: () => number = Date.now, tickMs = 1000): ProgressLine {
  if (stream.isTTY !== true) {
    return Object.assign((_message: string) => {}, { clear: () => {}, done: () => {} });
  }
  const started = now();
  let message = '';
  let shown = false;
  let lastDraw = 0;
  let finished = false;
  const draw = (): void => {
    if (finished || message === '') return;
    const secs = Math.floor((now() - started) / 1000);
    const clock = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
    stream.write(`${CLEAR}${fitLine(`bench ${clock}  ${message}`, Math.max(20, (stream.columns || 80) - 1))}`);
    shown = true;
    lastDraw = now();
  };
  // Redraw once a second so the clock moves during a long step; never keeps the process alive.
  const timer = setInterval(draw, tickMs);
  timer.unref();
  const line = ((m: string) => {
    message = m;
    // Steps that report often (round-trip counts) are drawn at most ten times a second.
    if (!shown || now() - lastDraw >= 100) draw();
  }) as ProgressLine;
  line.clear = () => {
    if (shown) stream.write(CLEAR);
    shown = false;
    message = '';
  };
  line.done = () => {
    line.clear();
    finished = true;
    clearInterval(timer);
  };
  return line;
}
